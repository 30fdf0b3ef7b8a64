"""Figures of a training run, written as PNG files.

Every function draws on its own ``matplotlib.figure.Figure`` rendered by the Agg canvas: no pyplot,
no global backend switch, so importing this module never changes how the caller's matplotlib
behaves. Each PNG is written to a temporary file in the target folder and renamed into place, so a
plot file is either absent or complete.

* :func:`plot_curves` -- cost and accuracy per epoch on the training, validation and test data.
* :func:`plot_learning_speed` -- ‖∂C/∂b^l‖ per layer over the epochs, log scale (Nielsen, ch. 5).
* :func:`plot_confusion_matrix` -- true against predicted class, with the counts.
* :func:`plot_first_layer_weights` -- each first-layer unit's incoming weights as an image.
* :func:`confusion_matrix` -- the (n, n) count matrix itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop._files import atomic_write
from deltaprop._validation import as_labels

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from deltaprop.history import History
    from deltaprop.network import Network

__all__ = [
    "confusion_matrix",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_first_layer_weights",
    "plot_learning_speed",
]

PathLike = str | os.PathLike[str]
DPI = 100
SPLITS = (("train", "training"), ("validation", "validation"), ("test", "test"))
MAX_ANNOTATED_CLASSES = 30  # larger confusion matrices are drawn without the counts in the cells


# -- writing ---------------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _write_png(figure: Figure, path: PathLike) -> Path:
    """Render ``figure`` as a PNG at ``path`` atomically (see ``_files.atomic_write``)."""
    target = Path(os.fspath(path))
    with atomic_write(target) as file:
        figure.savefig(file, format="png", dpi=DPI)
    return target


# -- history ---------------------------------------------------------------------------------------


def _records(history: History | Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> list[Mapping]:
    """The per-epoch records of a History, of its ``as_dict()``, or a list of records."""
    if hasattr(history, "records"):
        records = history.records
    elif isinstance(history, Mapping) and "records" in history:
        records = history["records"]
    else:
        records = history
    if isinstance(records, str | bytes) or not isinstance(records, Sequence):
        raise TypeError(
            f"history must be a History or a list of per-epoch records, got {type(history).__name__}"
        )
    if not records:
        raise ValueError("history has no epochs to plot")
    if not all(isinstance(record, Mapping) for record in records):
        raise TypeError("history records must be dicts, one per epoch")
    return list(records)


def _series(records: list[Mapping], key: str) -> tuple[list[int], list[float]] | None:
    """(epochs, values) where ``key`` was measured, or None where it never was."""
    points = [
        (int(record.get("epoch", i + 1)), float(record[key]))
        for i, record in enumerate(records)
        if record.get(key) is not None
    ]
    if not points:
        return None
    epochs, values = zip(*points, strict=True)
    return list(epochs), list(values)


def plot_curves(history: History | Sequence[Mapping[str, Any]], path: PathLike) -> Path:
    """Cost (left) and accuracy (right) per epoch, one line per measured split.

    Args:
        history: the History returned by ``fit`` (or its records, or ``history.as_dict()``).
        path: the PNG file to write.

    Returns:
        ``path`` as a Path.
    """
    records = _records(history)
    figure = _new_figure(10, 4)
    cost_axes, accuracy_axes = figure.subplots(1, 2)
    for key, label in SPLITS:
        marker = "o" if len(records) <= 30 else None
        cost = _series(records, f"{key}_cost")
        if cost is not None:
            cost_axes.plot(*cost, marker=marker, markersize=3, label=label)
        accuracy = _series(records, f"{key}_accuracy")
        if accuracy is not None:
            epochs, values = accuracy
            accuracy_axes.plot(epochs, [100 * v for v in values], marker=marker, markersize=3,
                               label=label)
    for axes, title, ylabel in (
        (cost_axes, "Cost", "cost (with regularization)"),
        (accuracy_axes, "Classification accuracy", "accuracy (%)"),
    ):
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
        if axes.lines:
            axes.legend()
    return _write_png(figure, path)


def plot_learning_speed(history: History | Sequence[Mapping[str, Any]], path: PathLike) -> Path:
    """‖∂C/∂b^l‖ of each layer over the epochs on a log axis: the speed at which each layer learns.

    In a deep sigmoid network the early hidden layers learn far more slowly than the later ones:
    the vanishing gradient problem (Nielsen, ch. 5).

    Args:
        history: the History returned by ``fit`` (its records carry ``learning_speed``).
        path: the PNG file to write.
    """
    records = _records(history)
    speeds = [(record.get("epoch", i + 1), record.get("learning_speed"))
              for i, record in enumerate(records)]
    speeds = [(epoch, list(speed)) for epoch, speed in speeds if speed]
    if not speeds:
        raise ValueError("history records have no 'learning_speed' to plot")
    n_layers = max(len(speed) for _, speed in speeds)
    figure = _new_figure(7, 4.5)
    axes = figure.subplots()
    for layer in range(n_layers):
        points = [(epoch, speed[layer]) for epoch, speed in speeds
                  if layer < len(speed) and speed[layer] is not None and speed[layer] > 0]
        if not points:
            continue
        epochs, values = zip(*points, strict=True)
        name = "output layer" if layer == n_layers - 1 else f"hidden layer {layer + 1}"
        axes.plot(epochs, values, marker="o" if len(points) <= 30 else None, markersize=3,
                  label=name)
    axes.set_yscale("log")
    axes.set_title(r"Speed of learning: $\|\partial C / \partial b^l\|$ per layer")
    axes.set_xlabel("epoch")
    axes.set_ylabel(r"$\|\partial C / \partial b^l\|$ (mean over mini-batches)")
    axes.grid(True, which="both", alpha=0.3)
    if axes.lines:
        axes.legend()
    return _write_png(figure, path)


# -- confusion matrix ------------------------------------------------------------------------------


def _labels(name: str, values: Any, n_classes: int) -> np.ndarray:
    """Class labels in [0, n_classes), through deltaprop's one label check (empty allowed)."""
    array = np.asarray(values)
    if array.ndim == 1 and array.size == 0:
        return np.empty(0, np.int64)
    return as_labels(name, array, n_classes)


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class): entry [i, j] is how many rows of class i were
    predicted as j. Rows sum to the class sizes, the diagonal holds the correct predictions.

    Returns:
        an (n_classes, n_classes) int64 array.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    n_classes = int(n_classes)
    true = _labels("y_true", y_true, n_classes)
    pred = _labels("y_pred", y_pred, n_classes)
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {true.shape[0]} and {pred.shape[0]}"
        )
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def plot_confusion_matrix(
    matrix: Any,
    path: PathLike,
    class_names: Sequence[str] | None = None,
    title: str = "Confusion matrix",
) -> Path:
    """The confusion matrix as a heat map, each cell labelled with its count.

    Args:
        matrix: (n, n) counts, rows the true class, columns the predicted class.
        path: the PNG file to write.
        class_names: tick labels (default 0 .. n-1).
        title: the figure title; the overall accuracy is appended.
    """
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"matrix must be a non-empty square (n, n) array, got shape {counts.shape}")
    if not np.issubdtype(counts.dtype, np.number) or np.any(counts < 0):
        raise ValueError("matrix must hold non-negative counts")
    n = counts.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"class_names must have {n} entries, got {len(names)}")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else float("nan")

    side = min(4 + 0.45 * n, 20)
    figure = _new_figure(side + 1, side)
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8, label="count")
    if n <= MAX_ANNOTATED_CLASSES:
        threshold = counts.max() / 2 if counts.max() else 1
        size = max(6, 11 - n // 6)
        for i in range(n):
            for j in range(n):
                value = counts[i, j]
                text = f"{value:g}" if np.issubdtype(counts.dtype, np.floating) else str(value)
                axes.text(j, i, text, ha="center", va="center", fontsize=size,
                          color="white" if value > threshold else "black")
    ticks = np.arange(n)
    step = max(1, math.ceil(n / 30))
    axes.set_xticks(ticks[::step], names[::step])
    axes.set_yticks(ticks[::step], names[::step])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"{title} (accuracy {100 * accuracy:.2f}%, {int(total)} examples)")
    return _write_png(figure, path)


# -- weights ---------------------------------------------------------------------------------------


def _image_shape(image_shape: Any, n_inputs: int) -> tuple[int, int]:
    try:
        height, width = (int(side) for side in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}") from None
    if height < 1 or width < 1 or height * width != n_inputs:
        raise ValueError(
            f"image_shape {(height, width)} does not match the network's {n_inputs} inputs"
        )
    return height, width


def plot_first_layer_weights(
    net: Network, image_shape: Sequence[int], path: PathLike, max_units: int = 100
) -> Path:
    """Each first-layer unit's incoming weights w^1_j· drawn as an image of the input's shape.

    The units form one grid (at most ``max_units`` of them, the first ones). Each tile is scaled by
    its own largest |weight| on a diverging colour map: red is positive, blue negative, white zero.

    Args:
        net: the network; its inputs must be images of ``image_shape`` flattened row by row.
        image_shape: (height, width) with height * width = net.sizes[0].
        path: the PNG file to write.
        max_units: the largest number of units drawn.
    """
    weights = np.asarray(net.weights[0], dtype=np.float64)
    height, width = _image_shape(image_shape, weights.shape[1])
    if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 1:
        raise ValueError(f"max_units must be a positive integer, got {max_units!r}")
    units = min(weights.shape[0], max_units)
    columns = math.ceil(math.sqrt(units))
    rows = math.ceil(units / columns)
    gap = 1
    mosaic = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for unit in range(units):
        tile = weights[unit].reshape(height, width)
        scale = np.max(np.abs(tile))
        row, column = divmod(unit, columns)
        top, left = row * (height + gap), column * (width + gap)
        mosaic[top:top + height, left:left + width] = tile / scale if scale > 0 else tile

    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="0.25")
    aspect = mosaic.shape[0] / mosaic.shape[1]
    figure = _new_figure(8, min(max(8 * aspect, 3), 16) + 0.6)
    axes = figure.subplots()
    axes.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    shown = f"first {units} of {weights.shape[0]}" if units < weights.shape[0] else f"{units}"
    axes.set_title(f"Incoming weights of the {shown} first-layer units ({height}x{width})")
    return _write_png(figure, path)
