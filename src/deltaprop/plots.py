"""Figures of a training run, written as PNG files.

Every function draws on its own ``matplotlib.figure.Figure`` rendered by the Agg canvas: no pyplot,
no global backend switch, so importing this module never changes how the caller's matplotlib
behaves. Each PNG is written to a temporary file in the target folder and renamed into place, so a
plot file is either absent or complete.

* :func:`plot_curves` -- cost and accuracy per epoch on the training, validation and test data.
* :func:`plot_learning_speed` -- ‖∂C/∂b^l‖ per layer over the epochs, log scale (Nielsen, ch. 5),
  from the initial network (epoch 0) when its speeds are given.
* :func:`plot_confusion_matrix` -- true against predicted class, with the counts: the errors on
  their own colour scale, the diagonal in a neutral gray, so that a few errors stand out.
* :func:`plot_first_layer_weights` -- each first-layer unit's incoming weights as an image, all on
  one symmetric colour scale with a colour bar.
* :func:`confusion_matrix` -- the (n, n) count matrix itself.

Every plot takes an optional ``config``: a line describing the run (sizes, η, λ, mini-batch size,
epochs...) shown above the figure. Figures use fixed margins rather than a layout engine, which
would cost more than the drawing itself.
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
    "confusion_colours",
    "confusion_matrix",
    "cost_label",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_first_layer_weights",
    "plot_learning_speed",
    "weight_mosaic",
]

PathLike = str | os.PathLike[str]
DPI = 100
SPLITS = (("train", "training"), ("validation", "validation"), ("test", "test"))
MAX_ANNOTATED_CLASSES = 30  # larger confusion matrices are drawn without the counts in the cells
ERROR_CMAP = "Reds"  # a confusion matrix's errors: white (none) to dark red (the most)...
DIAGONAL_RGBA = (0.82, 0.82, 0.82, 1.0)  # ...and its diagonal, a neutral gray


def _new_figure(width: float, height: float, config: str | None = None, **margins: float) -> Figure:
    """A figure of ``width`` x ``height`` inches on an Agg canvas, with the subplot margins given
    (fractions of the figure, as ``subplots_adjust`` takes them) and ``config`` as a small line at
    the top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    top = margins.pop("top", 0.88)
    if config:
        figure.text(0.5, 0.985, config, ha="center", va="top", fontsize=8, color="0.3")
        top -= 0.05
    figure.subplots_adjust(top=top, **margins)
    return figure


def cost_label(cost: str | None = None, regularized: bool = False) -> str:
    """The cost axis's label: 'cross-entropy cost', '... (with regularization)' when λ or λ₁ > 0."""
    name = "cost" if not cost else f"{cost.replace('_', '-')} cost"
    return f"{name} (with regularization)" if regularized else name


def _write_png(figure: Figure, path: PathLike) -> Path:
    """Render ``figure`` as a PNG at ``path`` atomically (see ``_files.atomic_write``)."""
    target = Path(os.fspath(path))
    with atomic_write(target) as file:
        figure.savefig(file, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return target


def _label_axes(axes: Any, title: str, x_label: str, y_label: str, corner: str) -> None:
    """The title, axis labels, a light grid, and the legend when there are lines, in a fixed corner
    ("best" costs more than the drawing)."""
    axes.set_title(title)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, alpha=0.3)
    if axes.lines:
        axes.legend(loc=corner)


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
        raise TypeError(f"history must be a History or a list of per-epoch records, got "
                        f"{type(history).__name__}")
    if not records:
        raise ValueError("history has no epochs to plot")
    if not all(isinstance(record, Mapping) for record in records):
        raise TypeError("history records must be dicts, one per epoch")
    return list(records)


def _series(records: list[Mapping], key: str, scale: float = 1.0) -> tuple[list[int], list[float]] | None:
    """(epochs, values times ``scale``) where ``key`` was measured, or None where it never was."""
    points = [(int(record.get("epoch", i + 1)), scale * float(record[key]))
              for i, record in enumerate(records) if record.get(key) is not None]
    if not points:
        return None
    epochs, values = zip(*points, strict=True)
    return list(epochs), list(values)


def plot_curves(history: History | Sequence[Mapping[str, Any]], path: PathLike, cost: str | None = None,
                regularized: bool = False, config: str | None = None) -> Path:
    """Cost (left) and accuracy (right) per epoch, one line per measured split.

    Args:
        history: the History returned by ``fit`` (or its records, or ``history.as_dict()``).
        path: the PNG file to write.
        cost: the cost function's name (e.g. "cross_entropy"), shown on the cost axis.
        regularized: whether the costs include a regularization term (λ or λ₁ > 0); the axis
            says so only then.
        config: a line describing the run, shown above the plots.

    Returns:
        ``path`` as a Path.
    """
    records = _records(history)
    figure = _new_figure(10, 4, config, left=0.07, right=0.98, bottom=0.12, wspace=0.22)
    cost_axes, accuracy_axes = figure.subplots(1, 2)
    marker = "o" if len(records) <= 30 else None
    for key, label in SPLITS:
        for axes, metric, scale in ((cost_axes, "cost", 1.0), (accuracy_axes, "accuracy", 100.0)):
            series = _series(records, f"{key}_{metric}", scale)
            if series is not None:
                axes.plot(*series, marker=marker, markersize=3, label=label)
    _label_axes(cost_axes, "Cost", "epoch", cost_label(cost, regularized), "upper right")
    _label_axes(accuracy_axes, "Classification accuracy", "epoch", "accuracy (%)", "lower right")
    return _write_png(figure, path)


def _speeds(records: list[Mapping], initial: Sequence[float] | None) -> list[tuple[int, list]]:
    """(epoch, per-layer speeds) of every record that has them, epoch 0 first when given."""
    speeds = [(int(record.get("epoch", i + 1)), list(record["learning_speed"]))
              for i, record in enumerate(records) if record.get("learning_speed")]
    if not speeds:
        raise ValueError("history records have no 'learning_speed' to plot")
    if initial is not None and len(initial) and speeds[0][0] != 0:
        speeds.insert(0, (0, [None if v is None else float(v) for v in initial]))
    return speeds


def plot_learning_speed(history: History | Sequence[Mapping[str, Any]], path: PathLike,
                        initial: Sequence[float] | None = None, config: str | None = None) -> Path:
    """‖∂C/∂b^l‖ of each layer over the epochs on a log axis: the speed at which each layer learns.

    In a deep sigmoid network the early hidden layers learn far more slowly than the later ones:
    the vanishing gradient problem (Nielsen, ch. 5).

    Args:
        history: the History returned by ``fit`` (its records carry ``learning_speed``).
        path: the PNG file to write.
        initial: the speeds of the initial network (‖∂C/∂b^l‖ of its gradient on the training
            data), drawn at epoch 0; None to start at epoch 1.
        config: a line describing the run, shown above the plot.
    """
    speeds = _speeds(_records(history), initial)
    n_layers = max(len(speed) for _, speed in speeds)
    figure = _new_figure(7, 4.5, config, left=0.13, right=0.97, bottom=0.12)
    axes = figure.subplots()
    for layer in range(n_layers):
        points = [(epoch, speed[layer]) for epoch, speed in speeds
                  if layer < len(speed) and speed[layer] is not None and speed[layer] > 0]
        if not points:
            continue
        epochs, values = zip(*points, strict=True)
        name = "output layer" if layer == n_layers - 1 else f"hidden layer {layer + 1}"
        axes.plot(epochs, values, marker="o" if len(points) <= 31 else None, markersize=3, label=name)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axes.set_yscale("log")  # plain tick labels, no minor ticks: no mathtext, far fewer artists
    axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_locator(NullLocator())
    _label_axes(axes, "Speed of learning: ‖∂C/∂bˡ‖ per layer",
                "epoch (0: the initial network)" if speeds[0][0] == 0 else "epoch",
                "‖∂C/∂bˡ‖ (mean over mini-batches)", "upper right")
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
        raise ValueError(f"y_true and y_pred must have the same length, got {true.shape[0]} and "
                         f"{pred.shape[0]}")
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def confusion_colours(matrix: Any) -> tuple[np.ndarray, Any, Any]:
    """The colour of each cell of a confusion matrix, (n, n, 4) RGBA, and the (norm, colour map)
    of the errors: each off-diagonal count on :data:`ERROR_CMAP` from 0 (white) to the largest
    error count, the diagonal (the correct predictions) in a neutral gray, :data:`DIAGONAL_RGBA`,
    so that the errors do not fade beside a diagonal of thousands."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    errors = np.array(matrix, dtype=np.float64)  # a copy
    np.fill_diagonal(errors, 0)
    norm, cmap = Normalize(0, max(float(errors.max()), 1.0)), colormaps[ERROR_CMAP]
    rgba = cmap(norm(errors))
    rgba[np.diag_indices(errors.shape[0])] = DIAGONAL_RGBA
    return rgba, norm, cmap


def _annotate(axes: Any, counts: np.ndarray, norm: Any) -> None:
    """Each cell's count: the diagonal in bold, the errors (zeros left blank) in white where dark."""
    n = counts.shape[0]
    size = max(6, 11 - n // 6)
    floating = np.issubdtype(counts.dtype, np.floating)
    for i, j in np.ndindex(n, n):
        value = counts[i, j]
        if i != j and value == 0:
            continue
        dark = i != j and norm(value) > 0.6
        axes.text(j, i, f"{value:g}" if floating else str(value), ha="center", va="center", fontsize=size,
                  fontweight="bold" if i == j else "normal", color="white" if dark else "black")


def plot_confusion_matrix(matrix: Any, path: PathLike, class_names: Sequence[str] | None = None,
                          title: str = "Confusion matrix", config: str | None = None) -> Path:
    """The confusion matrix, each cell labelled with its count (see :func:`confusion_colours`).

    Args:
        matrix: (n, n) counts, rows the true class, columns the predicted class.
        path: the PNG file to write.
        class_names: tick labels (default 0 .. n-1).
        title: the figure title; the overall accuracy is appended.
        config: a line describing the run, shown above the plot.
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
    from matplotlib.cm import ScalarMappable
    from matplotlib.ticker import MaxNLocator

    side = min(4 + 0.45 * n, 20)
    figure = _new_figure(side + 1.2, side + 0.4, config, left=0.08, right=0.99, bottom=0.08, top=0.92)
    axes = figure.subplots()
    colours, norm, cmap = confusion_colours(counts)
    axes.imshow(colours, interpolation="nearest")
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.8,
                    ticks=MaxNLocator(integer=True),
                    label="errors: count off the diagonal (diagonal: correct, gray)")
    if n <= MAX_ANNOTATED_CLASSES:
        _annotate(axes, counts, norm)
    ticks = np.arange(n)
    step = max(1, math.ceil(n / 30))
    axes.set_xticks(ticks[::step], names[::step])
    axes.set_yticks(ticks[::step], names[::step])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"{title} (accuracy {100 * accuracy:.2f}%, {int(total)} examples)", fontsize=10)
    return _write_png(figure, path)


# -- weights ---------------------------------------------------------------------------------------


def _image_shape(image_shape: Any, n_inputs: int) -> tuple[int, int]:
    try:
        height, width = (int(side) for side in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}") from None
    if height < 1 or width < 1 or height * width != n_inputs:
        raise ValueError(f"image_shape {(height, width)} does not match the network's {n_inputs} inputs")
    return height, width


def weight_mosaic(weights: np.ndarray, shape: tuple[int, int], units: int,
                  columns: int | None = None) -> np.ndarray:
    """The first ``units`` rows of ``weights`` as tiles of ``shape`` in a grid of ``columns`` (default:
    near-square), one pixel of NaN between them; the weights as they are (one scale for all)."""
    height, width = shape
    columns = columns or math.ceil(math.sqrt(units))
    rows = math.ceil(units / columns)
    mosaic = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for unit in range(units):
        row, column = divmod(unit, columns)
        top, left = row * (height + 1), column * (width + 1)
        mosaic[top:top + height, left:left + width] = weights[unit].reshape(height, width)
    return mosaic


def plot_first_layer_weights(net: Network, image_shape: Sequence[int], path: PathLike, max_units: int = 100,
                             config: str | None = None) -> Path:
    """Each first-layer unit's incoming weights w^1_j· drawn as an image of the input's shape.

    The units form one grid (at most ``max_units`` of them, the first ones), all on one symmetric
    diverging colour scale, ± the largest |weight| shown, with a colour bar: red is positive, blue
    negative, white zero, so tiles can be compared with each other.

    Args:
        net: the network; its inputs must be images of ``image_shape`` flattened row by row.
        image_shape: (height, width) with height * width = net.sizes[0].
        path: the PNG file to write.
        max_units: the largest number of units drawn.
        config: a line describing the run, shown above the plot.
    """
    weights = np.asarray(net.weights[0], dtype=np.float64)
    height, width = _image_shape(image_shape, weights.shape[1])
    if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 1:
        raise ValueError(f"max_units must be a positive integer, got {max_units!r}")
    units = min(weights.shape[0], max_units)
    mosaic = weight_mosaic(weights, (height, width), units)
    scale = float(np.max(np.abs(weights[:units]))) or 1.0
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="0.25")
    aspect = mosaic.shape[0] / mosaic.shape[1]
    figure = _new_figure(8.8, min(max(6.3 * aspect, 2), 16) + 1.0, config, left=0.02, right=0.9,
                         bottom=0.03, top=0.9)
    axes = figure.subplots()
    image = axes.imshow(mosaic, cmap=cmap, vmin=-scale, vmax=scale, interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8, label="weight (one scale for all units)")
    axes.set_axis_off()
    shown = f"first {units} of {weights.shape[0]}" if units < weights.shape[0] else f"{units}"
    axes.set_title(f"Incoming weights of the {shown} first-layer units ({height}x{width})", fontsize=10)
    return _write_png(figure, path)
