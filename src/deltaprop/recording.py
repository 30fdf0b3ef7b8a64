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

import math
import os
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deltaprop._files import atomic_write
from deltaprop.history import History
from deltaprop.limits import (
    MAX_LAYERS,
    MAX_REPORT_IMAGE_PIXELS,
    MAX_SNAPSHOT_BINS,
    MAX_SNAPSHOT_EPOCHS,
    MAX_SNAPSHOT_MEMBER_BYTES,
    format_bytes,
    shorten,
)
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
        """Read snapshots saved by ``save``; raises FileNotFoundError, or ValueError in one line
        naming the file and the member (field) when it is not one. Each member's ``.npy`` header is
        checked before its data are read (``check_npy_header``; at most
        ``MAX_SNAPSHOT_MEMBER_BYTES``), then the shapes against each other and the limits."""
        name = os.fspath(path)
        try:
            with open(path, "rb") as handle:
                if not handle.read(4).startswith(b"PK"):
                    raise ValueError("not an .npz (zip) archive")
                handle.seek(0)
                with zipfile.ZipFile(handle) as archive:
                    stored = _read_members(archive, name)
            return _snapshots(stored)
        except FileNotFoundError:
            raise
        except (KeyError, IndexError, OSError, EOFError, ValueError, zipfile.BadZipFile,
                zlib.error, NotImplementedError, RuntimeError) as error:
            raise ValueError(shorten(f"{name} is not a snapshot file of deltaprop: "
                                     f"{' '.join(str(error).split())}")) from None


#: The members of a snapshots.npz, and the dtype kinds each may hold.
MEMBERS = {"format": "iu", "sizes": "iu", "rows": "iu", "epochs": "iu", "image_shape": "iu",
           **{f"{q}_counts": "iu" for q in QUANTITIES}, **{f"{q}_edges": "f" for q in QUANTITIES},
           "first_layer": "f"}


def _read_members(archive: zipfile.ZipFile, name: str) -> dict[str, Array]:
    """The arrays of a snapshots archive, each sized from its ``.npy`` header before it is read."""
    from deltaprop.datasets.tables import check_npy_header

    members = archive.infolist()
    for info in members[:len(MEMBERS) + 1]:
        if info.filename.removesuffix(".npy") not in MEMBERS or not info.filename.endswith(".npy"):
            raise ValueError(f"unknown member {shorten(repr(info.filename), 60)}")
    if len(members) > len(MEMBERS):
        raise ValueError(f"{len(members)} members, expected at most {len(MEMBERS)}")
    stored = {}
    for info in members:
        key = info.filename.removesuffix(".npy")
        with archive.open(info) as stream:
            shape, dtype = check_npy_header(stream, info.file_size, f"member {key!r}", MEMBERS[key])
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > MAX_SNAPSHOT_MEMBER_BYTES:
                limit = format_bytes(MAX_SNAPSHOT_MEMBER_BYTES)
                raise ValueError(f"member {key!r} declares shape {shape} of {dtype} = "
                                 f"{format_bytes(nbytes)}, more than the limit of {limit}")
            data = stream.read(nbytes + 1)
        if len(data) != nbytes:
            raise ValueError(f"member {key!r} holds {len(data)} bytes, its header declares {nbytes}")
        stored[key] = np.frombuffer(data, dtype=dtype).reshape(shape)
    return stored


def _field(stored: dict[str, Array], key: str, ndim: int) -> Array:
    if key not in stored:
        raise ValueError(f"no member {key!r}")
    array = stored[key]
    if array.ndim != ndim:
        raise ValueError(f"member {key!r} has {array.ndim} dimensions, expected {ndim}")
    return array


def _snapshots(stored: dict[str, Array]) -> Snapshots:
    """Snapshots of the checked arrays of a file: shapes, ranges and limits agreeing."""
    sizes = [int(n) for n in _field(stored, "sizes", 1)]
    if not 2 <= len(sizes) <= MAX_LAYERS + 1 or min(sizes) < 1:
        raise ValueError(f"member 'sizes': expected 2 to {MAX_LAYERS + 1} positive sizes")
    epochs = [int(e) for e in _field(stored, "epochs", 1)]
    if len(epochs) > MAX_SNAPSHOT_EPOCHS:
        raise ValueError(f"member 'epochs': {len(epochs):,} epochs, more than the limit of "
                         f"{MAX_SNAPSHOT_EPOCHS}")
    if any(e < 0 for e in epochs) or any(b <= a for a, b in zip(epochs, epochs[1:], strict=False)):
        raise ValueError("member 'epochs': expected increasing epochs from 0 on")
    rows, shape = int(_field(stored, "rows", 0)), [int(n) for n in _field(stored, "image_shape", 1)]
    if rows < 0:
        raise ValueError(f"member 'rows': expected a count, found {rows}")
    if len(shape) != 2 or min(shape) < 0 or shape[0] * shape[1] not in (0, sizes[0]):
        raise ValueError(f"member 'image_shape': expected (0, 0) or (height, width) of the "
                         f"{sizes[0]} inputs of member 'sizes', found {shorten(repr(shape), 60)}")
    image_shape = (shape[0], shape[1]) if shape[0] * shape[1] else None
    snapshots = Snapshots(sizes, rows, epochs, image_shape=image_shape)
    layers = len(sizes) - 1
    for q in QUANTITIES:
        counts, edges = _field(stored, f"{q}_counts", 3), _field(stored, f"{q}_edges", 3)
        bins = counts.shape[2]
        if counts.shape[:2] != (len(epochs), layers) or not 1 <= bins <= MAX_SNAPSHOT_BINS:
            raise ValueError(f"member '{q}_counts' has shape {counts.shape}, expected "
                             f"({len(epochs)}, {layers}, bins) with 1 to {MAX_SNAPSHOT_BINS} bins")
        if edges.shape != (len(epochs), layers, bins + 1) or not np.isfinite(edges).all():
            raise ValueError(f"member '{q}_edges' has shape {edges.shape}, expected "
                             f"({len(epochs)}, {layers}, {bins + 1}) finite edges")
        if (counts < 0).any():
            raise ValueError(f"member '{q}_counts' holds negative counts")
        snapshots.counts[q] = list(counts.astype(np.int64, copy=False))
        snapshots.edges[q] = list(edges.astype(np.float64, copy=False))
    if "first_layer" in stored:
        first = _field(stored, "first_layer", 3)
        if first.shape[0] != len(epochs) or first.shape[1] > min(MAX_IMAGE_UNITS, sizes[1]) \
                or first.shape[2] != sizes[0]:
            raise ValueError(f"member 'first_layer' has shape {first.shape}, expected ({len(epochs)}, "
                             f"at most {min(MAX_IMAGE_UNITS, sizes[1])}, {sizes[0]})")
        snapshots.first_layer = list(np.nan_to_num(first.astype(np.float32), posinf=0, neginf=0))
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
        # the units the report can draw (fewer of large images, none beyond MAX_REPORT_IMAGE_PIXELS)
        self.units = min(MAX_IMAGE_UNITS, MAX_REPORT_IMAGE_PIXELS // net.sizes[0]) if images else 0
        images = images and self.units > 0
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
        """Record the network the run leaves (its kept epoch's parameters, ``History.kept_epoch``,
        else the last epoch's), when that epoch is not yet recorded."""
        if not len(history):
            return
        epoch = int(history.kept_epoch if history.kept_epoch is not None else history.records[-1]["epoch"])
        if epoch not in self.snapshots.epochs:
            self.record(epoch)

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
            snapshots.first_layer.append(net.weights[0][:self.units].astype(np.float32))
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
