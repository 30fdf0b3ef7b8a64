"""Snapshots taken during training, for the report: histograms of w, z and δ per layer at chosen epochs.

``Recorder`` is a ``fit`` callback. At the chosen epochs (0 = the initial network, 1, 2, 4, 8, ...
and the last) it runs one forward and backward pass (``Network.gradient``) over a fixed sample of
rows (200 by default) and keeps, per layer, histogram counts of the weights w^l, the weighted inputs
z^l and the per-example errors δ^l (never the raw arrays), plus the first layer's weights when they
are few enough to draw as images. ``Snapshots`` holds what was recorded and is saved as one small
``.npz`` file (``SNAPSHOT_FILE`` in a run directory), read back without pickles.

A pass over 200 rows costs about as much as 20 mini-batches of 10: recording a default run
(``deltaprop train``, 30 epochs of 126 mini-batches) at 7 epochs adds well under 5% of its time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deltaprop._files import atomic_write
from deltaprop.history import History
from deltaprop.network import Network, Workspace

Array = np.ndarray
SNAPSHOT_FILE = "snapshots.npz"
QUANTITIES = ("weights", "z", "delta")
DEFAULT_ROWS = 200
BINS = 40
TAIL = 0.005  # of the values at each end, counted in the end bins of a histogram
MAX_IMAGE_UNITS = 100  # first-layer units whose weights are kept as images, at most
SNAPSHOT_FORMAT = 1


def power_of_two_epochs(last: int) -> list[int]:
    """0, 1, 2, 4, 8, ... up to ``last``, and ``last``: the epochs a ``Recorder`` records."""
    powers = (2**i for i in range(max(last - 1, 0).bit_length()))  # those below last
    return sorted({0, *powers, max(last, 0)})


def histogram(values: Array, bins: int = BINS, tail: float = TAIL) -> tuple[Array, Array]:
    """(counts (bins,), edges (bins + 1,)) of the finite values over the range between their
    ``tail`` and 1 − ``tail`` quantiles (order statistics, no interpolation); the values beyond fall
    into the end bins, so that the counts add up to every finite value and a few outliers do not
    squeeze the rest into one bar. Counted with ``bincount``: several times faster than
    ``np.histogram``, which matters for a callback that runs during training."""
    flat = np.asarray(values).ravel()
    finite = np.isfinite(flat)
    if not finite.all():
        flat = flat[finite]
    if flat.size == 0:
        return np.zeros(bins, np.int64), np.linspace(-1.0, 1.0, bins + 1)
    k = int(tail * (flat.size - 1))
    if k:
        ordered = np.partition(flat, [k, flat.size - 1 - k])
        low, high = float(ordered[k]), float(ordered[flat.size - 1 - k])
    else:
        low, high = float(flat.min()), float(flat.max())
    if high - low < 1e-12 * max(1.0, abs(low)):
        low, high = float(flat.min()), float(flat.max())
    if high - low < 1e-12 * max(1.0, abs(low)):
        low, high = low - 0.5, high + 0.5
    index = ((flat - low) * (bins / (high - low))).astype(np.int64)
    np.clip(index, 0, bins - 1, out=index)
    return np.bincount(index, minlength=bins).astype(np.int64), np.linspace(low, high, bins + 1)


@dataclass
class Snapshots:
    """What a ``Recorder`` recorded.

    Attributes:
        sizes: the network's layer sizes.
        rows: how many sample rows z and δ were measured on.
        epochs: the recorded epochs, increasing (0: the network before training).
        counts, edges: ``counts[q]`` has shape (epochs, layers, bins) and ``edges[q]`` (epochs,
            layers, bins + 1) for each quantity q of ``QUANTITIES`` ("weights", "z", "delta").
        first_layer: (epochs, units, n_inputs) weights of the first layer's first units (at most
            ``MAX_IMAGE_UNITS``; float32, saved as float16), or None when not kept.
        image_shape: (height, width) of an input image, or None.
    """

    sizes: list[int]
    rows: int
    epochs: list[int] = field(default_factory=list)
    counts: dict[str, list[Array]] = field(default_factory=lambda: {q: [] for q in QUANTITIES})
    edges: dict[str, list[Array]] = field(default_factory=lambda: {q: [] for q in QUANTITIES})
    first_layer: list[Array] | None = None
    image_shape: tuple[int, int] | None = None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the snapshots to ``path`` (an .npz file, written atomically)."""
        arrays: dict[str, Array] = {
            "format": np.array(SNAPSHOT_FORMAT), "sizes": np.array(self.sizes, np.int64),
            "rows": np.array(self.rows), "epochs": np.array(self.epochs, np.int64),
            "image_shape": np.array(self.image_shape or (0, 0), np.int64),
        }
        layers, epochs = len(self.sizes) - 1, len(self.epochs)
        for q in QUANTITIES:
            arrays[f"{q}_counts"] = np.array(self.counts[q], np.int64).reshape(epochs, layers, -1)
            arrays[f"{q}_edges"] = np.array(self.edges[q], np.float64).reshape(epochs, layers, -1)
        if self.first_layer is not None:
            arrays["first_layer"] = np.array(self.first_layer, np.float16)  # plenty for 8-bit colours
        with atomic_write(path) as file:
            np.savez_compressed(file, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Snapshots:
        """Read snapshots saved by ``save``; raises ValueError naming the file when it is not one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = {name: data[name] for name in data.files}
            sizes = [int(n) for n in stored["sizes"]]
            shape = tuple(int(n) for n in stored["image_shape"])
            snapshots = cls(sizes, int(stored["rows"]), [int(e) for e in stored["epochs"]],
                            image_shape=(shape[0], shape[1]) if shape[0] * shape[1] else None)
            for q in QUANTITIES:
                snapshots.counts[q] = list(stored[f"{q}_counts"])
                snapshots.edges[q] = list(stored[f"{q}_edges"])
                if len(snapshots.counts[q]) != len(snapshots.epochs):
                    raise ValueError(f"{q}: {len(snapshots.counts[q])} snapshots for "
                                     f"{len(snapshots.epochs)} epochs")
            if "first_layer" in stored:
                snapshots.first_layer = list(stored["first_layer"].astype(np.float32))
        except (KeyError, IndexError, OSError, EOFError, ValueError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise ValueError(f"{os.fspath(path)} is not a snapshot file of deltaprop: {error}") from None
        return snapshots


class Recorder:
    """A ``fit`` callback recording ``Snapshots`` of ``net`` on fixed sample rows.

    Call ``start()`` before ``fit`` to record epoch 0 (the initial network; skip it when resuming),
    pass the recorder in ``callbacks``, and call ``finish(history)`` after ``fit`` to record the last
    epoch when it was not one of ``epochs`` (early stopping). ``snapshots`` holds the result.

    Args:
        net: the network being trained (read, never changed).
        X, Y: the sample rows, (m, sizes[0]) inputs and (m, sizes[-1]) targets or (m,) labels.
        epochs: the epochs to record (default: ``power_of_two_epochs(last)``, needs ``last``).
        last: the run's last epoch (its ``epochs`` option).
        image_shape: (height, width) of an input image: first-layer weights are then kept too.
    """

    def __init__(self, net: Network, X: Any, Y: Any, epochs: Iterable[int] | None = None,
                 last: int | None = None, image_shape: tuple[int, int] | None = None) -> None:
        if epochs is None:
            if last is None:
                raise ValueError("Recorder needs the epochs to record, or the last epoch (last=)")
            epochs = power_of_two_epochs(last)
        self.net = net
        self.X, self.Y = net.check_XY(X, Y)
        self.epochs = {int(e) for e in epochs}
        self.workspace = Workspace(net.sizes, net.dtype, self.X.shape[0])
        self.ones = np.ones(self.X.shape[0], net.dtype)
        images = image_shape is not None and image_shape[0] * image_shape[1] == net.sizes[0]
        self.snapshots = Snapshots(list(net.sizes), int(self.X.shape[0]), first_layer=[] if images else None,
                                   image_shape=tuple(image_shape) if images else None)  # type: ignore[arg-type]

    def start(self) -> None:
        """Record epoch 0, the network before training."""
        self.record(0)

    def __call__(self, record: dict[str, Any]) -> None:
        """The callback: record the epoch just trained when it is one of the chosen epochs."""
        if int(record["epoch"]) in self.epochs:
            self.record(int(record["epoch"]))

    def finish(self, history: History) -> None:
        """Record the run's last epoch, when training ended on an epoch not yet recorded."""
        if len(history) and int(history.records[-1]["epoch"]) not in self.snapshots.epochs:
            self.record(int(history.records[-1]["epoch"]))

    def record(self, epoch: int) -> None:
        """One snapshot of the network as it is now, as epoch ``epoch``."""
        net, snapshots = self.net, self.snapshots
        with np.errstate(all="ignore"):
            net.gradient(self.X, self.Y, self.ones, None, self.workspace)  # δ per example: r_x = 1
        per_layer = (net.weights, self.workspace.zs, self.workspace.deltas)
        for q, arrays in zip(QUANTITIES, per_layer, strict=True):
            pairs = [histogram(values) for values in arrays]
            snapshots.counts[q].append(np.stack([counts for counts, _ in pairs]))
            snapshots.edges[q].append(np.stack([edges for _, edges in pairs]))
        if snapshots.first_layer is not None:
            snapshots.first_layer.append(net.weights[0][:MAX_IMAGE_UNITS].astype(np.float32))
        snapshots.epochs.append(epoch)


@dataclass
class RecordedHistory(History):
    """A ``History`` with the ``Snapshots`` recorded during the run (or None)."""

    snapshots: Snapshots | None = None


def training_recorder(net: Network, X: Any, y: Any, last: int,
                      image_shape: tuple[int, int] | None = None, resumed: bool = False,
                      rows: int = DEFAULT_ROWS) -> Recorder:
    """The recorder ``deltaprop train`` uses: the first ``rows`` training rows, epochs 0, 1, 2, 4, ...
    and ``last``; epoch 0 is recorded now unless the run is ``resumed`` (it then records from the
    resume on: earlier snapshots are not in the checkpoint)."""
    recorder = Recorder(net, X[:rows], y[:rows], last=last, image_shape=image_shape)
    if not resumed:
        recorder.start()
    return recorder
