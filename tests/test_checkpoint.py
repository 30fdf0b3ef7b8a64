"""Checkpoints and exact resume: a resumed run ends bitwise equal to an uninterrupted one."""

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from deltaprop import Network, fit, io
from deltaprop.checkpoint import Checkpoint, checkpoint_file, load_checkpoint
from deltaprop.errors import ModelFormatError, TrainingDivergedError, TrainingInterrupted

OPTIONS = dict(epochs=4, batch_size=16, eta=0.3, lmbda=0.5, momentum=0.5, dropout=0.2,
               schedule=1, seed=11)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 12))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y, (X[:40], y[:40])


def _net():
    return Network([12, 10, 3], activation="tanh", output_activation="softmax",
                   cost="log_likelihood", seed=5)


def _same_parameters(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.weights + a.biases, b.weights + b.biases,
                                                    strict=True))


def _uninterrupted():
    X, y, validation = _data()
    net = _net()
    history = fit(net, X, y, validation_data=validation, **OPTIONS)
    return net, history


@pytest.mark.parametrize("stop_after", [1, 7, 13, 26, 40])
def test_resume_after_a_stop_request_is_bitwise_exact(tmp_path, stop_after):
    X, y, validation = _data()
    expected, expected_history = _uninterrupted()
    calls = iter(range(1, 10_000))
    net = _net()
    with pytest.raises(TrainingInterrupted, match="checkpoint saved") as stopped:
        fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
                should_stop=lambda: next(calls) >= stop_after, **OPTIONS)
    assert stopped.value.checkpoint_dir == str(tmp_path)
    resumed = _net()
    history = fit(resumed, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
                  resume=True)
    assert _same_parameters(resumed, expected)
    assert history["validation_accuracy"] == expected_history["validation_accuracy"]
    assert history["eta"] == expected_history["eta"]
    assert len(history) == len(expected_history)


def test_every_epoch_leaves_a_checkpoint_and_a_finished_run_resumes_to_itself(tmp_path):
    X, y, validation = _data()
    net = _net()
    epochs_seen = []
    fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            callbacks=[lambda record: epochs_seen.append(load_checkpoint(tmp_path).state["epoch"])],
            **OPTIONS)
    assert epochs_seen == [1, 2, 3, 4]
    again = _net()
    fit(again, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True)
    assert _same_parameters(again, net)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


TRAIN_SCRIPT = """
import os, sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_checkpoint import OPTIONS, _data, _net
from deltaprop import fit
from deltaprop.checkpoint import Checkpoint
X, y, validation = _data()
directory = sys.argv[1]
resume = directory if os.path.exists(os.path.join(directory, "checkpoint.safetensors")) else None
options = dict(OPTIONS, epochs=30) if resume is None else {{}}
net = _net()
fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(directory),
    resume=resume is not None, **options)
np.save(sys.argv[2], np.concatenate([p.ravel() for p in net.weights + net.biases]))
"""


def test_sigkill_at_random_moments_then_resume_is_bitwise_exact(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT.format(tests=os.path.dirname(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def run(directory, out, kill_after=None):
        process = subprocess.Popen([sys.executable, str(script), str(directory), str(out)], env=env)
        if kill_after is None:
            assert process.wait(timeout=120) == 0
            return
        time.sleep(kill_after)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    run(tmp_path / "straight", tmp_path / "straight.npy")
    expected = np.load(tmp_path / "straight.npy")
    rng = np.random.default_rng(2026)
    for attempt in range(4):
        directory = tmp_path / f"killed{attempt}"
        for kill_after in rng.uniform(0.3, 2.5, size=2):  # killed twice, at random moments
            run(directory, tmp_path / "unused.npy", kill_after)
        run(directory, tmp_path / f"resumed{attempt}.npy")
        np.testing.assert_array_equal(np.load(tmp_path / f"resumed{attempt}.npy"), expected)


def test_divergence_names_epoch_and_batch_and_keeps_the_last_good_checkpoint(tmp_path):
    X, y, _ = _data()
    net = Network([12, 10, 3], activation="relu", output_activation="linear", seed=0)

    def blow_up_after_epoch_2(record):
        if record["epoch"] == 2:
            net.weights[0] *= 1e200  # the next mini-batch overflows

    with pytest.raises(TrainingDivergedError,
                       match=r"epoch 3, between mini-batches 1 and \d+: .* try a smaller eta \(now 0.01\)"):
        fit(net, X, y, epochs=5, batch_size=16, eta=0.01, seed=0, checkpoint=Checkpoint(tmp_path),
                callbacks=[blow_up_after_epoch_2])
    saved = load_checkpoint(tmp_path)
    assert saved.state["epoch"] == 2
    assert all(np.all(np.isfinite(p)) for p in saved.net.weights + saved.net.biases)
    assert np.abs(saved.net.weights[0]).max() < 1e3


def test_divergence_from_too_large_eta_is_reported_not_a_numpy_warning():
    X, y, _ = _data()
    net = Network([12, 10, 3], activation="relu", output_activation="linear", seed=0)
    with warnings.catch_warnings(), pytest.raises(TrainingDivergedError):
        warnings.simplefilter("error")
        fit(net, X, np.eye(3)[y] * 1e3, epochs=50, batch_size=16, eta=0.5, seed=0)


def test_resume_refuses_other_data_other_options_and_other_networks(tmp_path):
    X, y, validation = _data()
    fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), **OPTIONS)
    with pytest.raises(ValueError, match="training data differ"):
        fit(_net(), X + 1, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            resume=True)
    with pytest.raises(ValueError, match="eta=0.1 differs"):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True,
            eta=0.1)
    with pytest.raises(ValueError, match="does not match the checkpoint"):
        fit(Network([12, 5, 3], seed=0), X, y, validation_data=validation,
            checkpoint=Checkpoint(tmp_path), resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(_net(), X, y, checkpoint=Checkpoint(tmp_path / "elsewhere"), resume=True)


def test_corrupt_or_lying_checkpoints_raise_model_format_error(tmp_path):
    X, y, validation = _data()
    fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), **OPTIONS)
    path = checkpoint_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError):
        load_checkpoint(tmp_path)
    _net_and_state = io.load_with_metadata
    for broken in ({"epoch": -1}, {"rng": {"bit_generator": "nope"}}, {"sums": {"nabla_b_sum": [1.0]}},
                   {"version": 99}, {"version": 1}, {"config": {"epochs": 0, "batch_size": 1}}):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), **OPTIONS)
        saved_net, meta, slots = _net_and_state(path)
        state = {**meta["checkpoint"], **broken}
        io.save(saved_net, path, extra_metadata={"checkpoint": state}, slots=slots)
        with pytest.raises(ModelFormatError):
            fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True)
