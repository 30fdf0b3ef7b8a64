"""deltaprop.plots: PNG files written atomically, sensible figures, the confusion matrix."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network, fit, plots
from deltaprop.training import History

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, after checking its signature and IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG file"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND", f"{path} is truncated"
    return struct.unpack(">II", data[16:24])


def assert_sensible_png(path: Path, min_side: int = 200, max_side: int = 4000) -> None:
    width, height = png_size(path)
    assert min_side <= width <= max_side and min_side <= height <= max_side, (width, height)
    assert path.stat().st_size > 2_000  # not blank
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.fixture(scope="module")
def trained() -> tuple[Network, History]:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (60, 16))
    y = (X[:, :8].sum(axis=1) > X[:, 8:].sum(axis=1)).astype(int)
    net = Network([16, 9, 2], cost="cross_entropy", seed=1)
    history = fit(net, X[:40], y[:40], epochs=4, batch_size=10, eta=1.0, seed=0,
                      validation_data=(X[40:50], y[40:50]), test_data=(X[50:], y[50:]))
    return net, history


# -- confusion_matrix ----------------------------------------------------------------------------


def test_confusion_matrix_counts_true_rows_predicted_columns() -> None:
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    matrix = plots.confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 2, 1], [1, 0, 0]])
    assert matrix.dtype == np.int64
    assert matrix.sum() == 6 and np.trace(matrix) == 3


def test_confusion_matrix_includes_absent_classes_and_whole_floats() -> None:
    matrix = plots.confusion_matrix(np.array([1.0, 1.0]), np.array([1, 3]), 5)
    assert matrix.shape == (5, 5)
    assert matrix[1, 1] == 1 and matrix[1, 3] == 1 and matrix.sum() == 2


@pytest.mark.parametrize(
    ("y_true", "y_pred", "n_classes", "error"),
    [
        ([0, 1], [0], 2, ValueError),  # lengths differ
        ([0, 2], [0, 1], 2, ValueError),  # label out of range
        ([0, -1], [0, 1], 2, ValueError),
        ([[0, 1]], [[0, 1]], 2, ValueError),  # not 1-D
        ([0.5, 1], [0, 1], 2, ValueError),  # not whole numbers (one label check for the library)
        ([0, 1], [0, 1], 0, ValueError),
        ([0, 1], [0, 1], True, ValueError),
    ],
)
def test_confusion_matrix_rejects_bad_input(y_true, y_pred, n_classes, error) -> None:
    with pytest.raises(error):
        plots.confusion_matrix(y_true, y_pred, n_classes)


# -- the plots -----------------------------------------------------------------------------------


def test_plot_curves_writes_a_png(tmp_path: Path, trained) -> None:
    _, history = trained
    path = plots.plot_curves(history, tmp_path / "curves.png")
    assert path == tmp_path / "curves.png"
    assert_sensible_png(path)
    width, height = png_size(path)
    assert width > height  # two panels side by side


def test_plot_curves_accepts_records_and_missing_splits(tmp_path: Path, trained) -> None:
    _, history = trained
    records = [{k: v for k, v in r.items() if not k.startswith(("validation", "test"))}
               for r in history.records]
    assert_sensible_png(plots.plot_curves(records, tmp_path / "a.png"))
    assert_sensible_png(plots.plot_curves(history.as_dict(), tmp_path / "b.png"))


def test_plot_learning_speed_writes_a_png(tmp_path: Path, trained) -> None:
    _, history = trained
    assert_sensible_png(plots.plot_learning_speed(history, tmp_path / "speed.png"))


def test_plot_learning_speed_of_a_deep_network(tmp_path: Path) -> None:
    records = [{"epoch": e, "learning_speed": [0.01 / e, 0.1 / e, 1.0 / e, 0.0]}
               for e in range(1, 6)]
    assert_sensible_png(plots.plot_learning_speed(records, tmp_path / "deep.png"))


def test_plots_of_an_empty_history_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no epochs"):
        plots.plot_curves(History(), tmp_path / "x.png")
    with pytest.raises(ValueError, match="learning_speed"):
        plots.plot_learning_speed([{"epoch": 1}], tmp_path / "x.png")
    with pytest.raises(TypeError):
        plots.plot_curves(42, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_plot_confusion_matrix_writes_a_png(tmp_path: Path) -> None:
    matrix = plots.confusion_matrix([0, 1, 2, 2, 1], [0, 1, 2, 1, 1], 3)
    assert_sensible_png(plots.plot_confusion_matrix(matrix, tmp_path / "cm.png"))
    big = np.random.default_rng(0).integers(0, 50, (40, 40))  # too many to annotate
    assert_sensible_png(plots.plot_confusion_matrix(big, tmp_path / "big.png"))


@pytest.mark.parametrize("matrix", [np.zeros((2, 3)), np.zeros((0, 0)), -np.ones((2, 2))])
def test_plot_confusion_matrix_rejects_bad_matrices(tmp_path: Path, matrix) -> None:
    with pytest.raises(ValueError):
        plots.plot_confusion_matrix(matrix, tmp_path / "cm.png")


def test_plot_first_layer_weights_writes_a_png(tmp_path: Path) -> None:
    net = Network([64, 30, 10], seed=0)
    assert_sensible_png(plots.plot_first_layer_weights(net, (8, 8), tmp_path / "w.png"))


def test_plot_first_layer_weights_limits_the_units(tmp_path: Path) -> None:
    net = Network([12, 150, 2], seed=0)
    path = plots.plot_first_layer_weights(net, (3, 4), tmp_path / "w.png", max_units=100)
    assert_sensible_png(path)
    with pytest.raises(ValueError, match="max_units"):
        plots.plot_first_layer_weights(net, (3, 4), tmp_path / "w.png", max_units=0)


@pytest.mark.parametrize("shape", [(8, 9), (8,), "8x8", (0, 64)])
def test_plot_first_layer_weights_checks_the_image_shape(tmp_path: Path, shape) -> None:
    with pytest.raises(ValueError, match="image_shape"):
        plots.plot_first_layer_weights(Network([64, 5, 2]), shape, tmp_path / "w.png")


# -- atomic writes, no global state --------------------------------------------------------------


def test_a_plot_replaces_an_existing_file(tmp_path: Path, trained) -> None:
    _, history = trained
    target = tmp_path / "curves.png"
    target.write_bytes(b"old")
    plots.plot_curves(history, target)
    assert_sensible_png(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, trained, monkeypatch) -> None:
    _, history = trained
    target = tmp_path / "curves.png"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        plots.plot_curves(history, target)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        plots.plot_curves(history, tmp_path / "missing-folder" / "curves.png")


def test_plotting_does_not_touch_pyplot_or_the_backend(tmp_path: Path) -> None:
    code = (
        "import sys, matplotlib\n"
        "backend = dict.__getitem__(matplotlib.rcParams, 'backend')  # without resolving it\n"
        "from deltaprop import plots\n"
        f"plots.plot_confusion_matrix([[1, 0], [2, 3]], {str(tmp_path / 'cm.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "assert dict.__getitem__(matplotlib.rcParams, 'backend') == backend\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert_sensible_png(tmp_path / "cm.png")


# -- what the figures say (captured before they are written) ---------------------------------------


@pytest.fixture()
def figures(monkeypatch) -> list:
    """The figures the plot functions draw, in order (they are still written)."""
    drawn: list = []
    write = plots._write_png

    def capture(figure, path):
        drawn.append(figure)
        return write(figure, path)

    monkeypatch.setattr(plots, "_write_png", capture)
    return drawn


def _texts(figure) -> str:
    return " ".join(text.get_text() for text in figure.texts)


def test_cost_axis_names_the_cost_and_regularization_only_when_used() -> None:
    assert plots.cost_label("cross_entropy") == "cross-entropy cost"
    assert plots.cost_label("log_likelihood", regularized=True) == (
        "log-likelihood cost (with regularization)")
    assert plots.cost_label() == "cost"


def test_plot_curves_labels_and_config(tmp_path: Path, trained, figures) -> None:
    _, history = trained
    plots.plot_curves(history, tmp_path / "a.png", cost="cross_entropy", config="digits, 64-30-10")
    plots.plot_curves(history, tmp_path / "b.png", cost="quadratic", regularized=True)
    plain, regularized = figures
    assert plain.axes[0].get_ylabel() == "cross-entropy cost"
    assert "regularization" not in plain.axes[0].get_ylabel()
    assert "digits, 64-30-10" in _texts(plain)
    assert regularized.axes[0].get_ylabel() == "quadratic cost (with regularization)"
    assert _texts(regularized) == ""


def test_plot_learning_speed_starts_at_the_initial_network(tmp_path: Path, figures) -> None:
    records = [{"epoch": e, "learning_speed": [0.1 / e, 1.0 / e]} for e in range(1, 4)]
    plots.plot_learning_speed(records, tmp_path / "a.png", initial=[0.5, 2.0], config="run")
    plots.plot_learning_speed(records, tmp_path / "b.png")
    with_initial, without = figures
    hidden, output = with_initial.axes[0].lines
    assert list(hidden.get_xdata()) == [0, 1, 2, 3] and hidden.get_ydata()[0] == 0.5
    assert output.get_ydata()[0] == 2.0
    assert "initial" in with_initial.axes[0].get_xlabel() and "run" in _texts(with_initial)
    assert list(without.axes[0].lines[0].get_xdata()) == [1, 2, 3]


def test_confusion_matrix_errors_stand_out_beside_a_large_diagonal(tmp_path: Path, figures) -> None:
    from matplotlib import colormaps

    counts = np.diag([980, 1135, 1032, 1010, 960, 892, 958, 1028, 974, 1009])
    counts[4, 9] = 14  # fourteen 4s read as 9s
    counts[7, 2] = 1
    colours, norm, _ = plots.confusion_colours(counts)
    np.testing.assert_allclose(colours[4, 9], colormaps[plots.ERROR_CMAP](1.0))  # the darkest
    assert colours[4, 9][:3].sum() < 1.2  # dark red, far from white
    assert colours[7, 2][:3].sum() > 2.5 and colours[0, 1][:3].sum() > 2.8  # faint, near white
    for i in range(10):
        np.testing.assert_allclose(colours[i, i], plots.DIAGONAL_RGBA)  # neutral, whatever the count
    assert norm.vmax == 14
    plots.plot_confusion_matrix(counts, tmp_path / "cm.png", config="mnist run")
    (figure,) = figures
    cells = {text.get_text() for text in figure.axes[0].texts}
    assert {"14", "1", "980", "1135"} <= cells and "0" not in cells  # counts; zeros left blank
    assert len(figure.axes) == 2  # the matrix and its colour bar
    assert "mnist run" in _texts(figure)


def test_first_layer_weights_share_one_symmetric_scale(tmp_path: Path, figures) -> None:
    net = Network([4, 3, 2], seed=0)
    net.weights[0][...] = [[0.01, -0.01, 0.02, 0.0], [2.0, -1.0, 0.5, 0.0], [0.1, 0.2, -0.3, 0.4]]
    mosaic = plots.weight_mosaic(net.weights[0], (2, 2), 3)
    np.testing.assert_array_equal(mosaic[0:2, 0:2], [[0.01, -0.01], [0.02, 0.0]])  # not rescaled
    np.testing.assert_array_equal(mosaic[0:2, 3:5], [[2.0, -1.0], [0.5, 0.0]])
    plots.plot_first_layer_weights(net, (2, 2), tmp_path / "w.png", config="tiny")
    (figure,) = figures
    image = figure.axes[0].images[0]
    assert image.get_clim() == (-2.0, 2.0)  # ± the largest |weight| of all units
    assert len(figure.axes) == 2 and "tiny" in _texts(figure)  # with a colour bar
