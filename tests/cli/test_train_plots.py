"""The plots of ``deltaprop train``: titled with the run's configuration, the cost named and said
to include regularization only when it does, the learning speed from the initial network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deltaprop import plots
from deltaprop.cli.train import initial_learning_speed
from deltaprop.cli.train_output import run_description
from deltaprop.datasets import load_dataset
from deltaprop.network import Network

from .support import run


@pytest.fixture()
def figures(monkeypatch) -> dict:
    """The figures a run draws, by file name (they are still written)."""
    drawn: dict = {}
    write = plots._write_png

    def capture(figure, path):
        drawn[path.name] = figure
        return write(figure, path)

    monkeypatch.setattr(plots, "_write_png", capture)
    return drawn


def _texts(figure) -> str:
    return " ".join(text.get_text() for text in figure.texts)


@pytest.mark.parametrize(("options", "regularized"), [([], False), (["--lmbda", "2"], True)])
def test_run_plots_name_the_cost_and_the_configuration(tmp_path, capsys, figures, options,
                                                       regularized) -> None:
    code, out, err = run(capsys, "train", "--epochs", "2", "--batch-size", "20", "--quiet",
                         "--json", "--out", tmp_path / "run", *options)
    assert code == 0, err
    outcome = json.loads(out)
    assert set(figures) == {"curves.png", "learning_speed.png", "confusion_matrix.png",
                            "first_layer_weights.png"}
    config = _texts(figures["curves.png"])
    for part in ("digits", "64-30-10", "cross-entropy", "η 0.5", f"λ {2 if regularized else 0}",
                 "batch 20", "2 epochs"):
        assert part in config, (part, config)
    assert all(config in _texts(figure) for figure in figures.values())
    label = figures["curves.png"].axes[0].get_ylabel()
    assert label == "cross-entropy cost" + (" (with regularization)" if regularized else "")
    # The learning speed starts at epoch 0, the initial network, faster than after an epoch.
    initial = outcome["initial_learning_speed"]
    assert len(initial) == 2 and all(speed > 0 for speed in initial)
    first = outcome["history"][0]["learning_speed"]
    assert all(i > f for i, f in zip(initial, first, strict=True))
    lines = figures["learning_speed.png"].axes[0].lines
    assert [list(line.get_xdata()) for line in lines] == [[0, 1, 2]] * 2
    np.testing.assert_allclose([line.get_ydata()[0] for line in lines], initial)


def test_initial_learning_speed_is_the_norm_of_the_mean_bias_gradient() -> None:
    data = load_dataset("digits", seed=0)
    net = Network([64, 30, 10], seed=0)
    Y = np.eye(10)[data.train.y[:2000]]
    expected = [np.linalg.norm(b) for b in net.backprop(data.train.X[:2000], Y)[0]]
    np.testing.assert_allclose(initial_learning_speed(net, data.train), expected)
    empty = type(data.train)(data.train.X[:0], data.train.y[:0])
    assert initial_learning_speed(net, empty) is None


def test_run_description_lists_what_differs_from_plain_sgd() -> None:
    data = load_dataset("digits", seed=0)
    net = Network([64, 30, 10], seed=0)
    net.training_config = {"eta": 0.1, "momentum": 0.9, "lmbda": 5.0, "l1": 0.0, "dropout": 0.2,
                           "batch_size": 10, "epochs": 30, "seed": 1, "optimizer": "sgd"}
    text = run_description(data, net)
    assert text.startswith("digits, 64-30-10, ")
    assert "sgd η 0.1 μ 0.9" in text and "λ 5" in text and "dropout 0.2" in text
    assert "λ1" not in text and "batch 10" in text and "30 epochs" in text and "seed 1" in text
