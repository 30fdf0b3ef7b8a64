"""Files written by the release before the registries (deltaprop 0.1.0, main of 2026-12-07) still load
and resume after options were added: a missing option takes its default.

The fixtures in ``tests/fixtures/release-0.1`` were written by that release:

- ``model.safetensors``: ``deltaprop train --hidden 8 --epochs 2 --optimizer adam --seed 3``;
- ``train-checkpoint/``: that run's checkpoint (``--checkpoint-dir``, kept once complete);
- ``fit-checkpoint/``: ``fit(Network([64, 6, 10], seed=1), digits' first 50 training rows, epochs=2,
  batch_size=10, momentum=0.5, nesterov=True, lmbda=0.1, seed=2)`` stopped after its 7th mini-batch;
- ``fit-resumed.npz``: the weights then biases that release reached resuming ``fit-checkpoint``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

import deltaprop
from deltaprop.checkpoint import Checkpoint, load_checkpoint
from deltaprop.datasets import load_digits

FIXTURES = Path(__file__).parent / "fixtures" / "release-0.1"


def test_a_release_model_file_loads_and_predicts():
    net = deltaprop.load(FIXTURES / "model.safetensors")
    assert net.sizes == (64, 8, 10)
    assert net.training_config["optimizer"] == "adam"
    X = load_digits().test.X[:5]
    assert net.predict(X).shape == (5,)


def test_a_release_checkpoint_resumes_exactly_as_the_release_did(tmp_path):
    folder = tmp_path / "checkpoint"
    shutil.copytree(FIXTURES / "fit-checkpoint", folder)
    saved = load_checkpoint(folder)
    assert "rho" not in saved.state["config"]  # the file predates RMSprop's options
    data = load_digits()
    net = deltaprop.Network([64, 6, 10], seed=1)
    history = deltaprop.fit(net, data.train.X[:50], data.train.y[:50], checkpoint=Checkpoint(folder),
                            resume=True)
    assert len(history) == 2
    expected = np.load(FIXTURES / "fit-resumed.npz")
    arrays = [expected[f"arr_{i}"] for i in range(len(expected.files))]
    for got, want in zip(net.weights + net.biases, arrays, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_release_train_checkpoint_resumes_from_the_command_line(tmp_path, monkeypatch, capsys):
    from deltaprop.cli import main

    folder = tmp_path / "checkpoint"
    shutil.copytree(FIXTURES / "train-checkpoint", folder)
    monkeypatch.chdir(tmp_path)
    status = main(["train", "--resume", str(folder), "--out", str(tmp_path / "run"), "--quiet",
                   "--no-plots", "--json"])
    assert status == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["epochs_run"] == 2
    resumed = deltaprop.load(tmp_path / "run" / "model.safetensors")
    original = deltaprop.load(FIXTURES / "model.safetensors")
    for got, want in zip(resumed.weights + resumed.biases, original.weights + original.biases,
                         strict=True):
        np.testing.assert_array_equal(got, want)
