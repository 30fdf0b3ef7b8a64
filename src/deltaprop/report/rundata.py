"""What a run directory holds, loaded for the report: the model, its history, config, snapshots, data.

Only the model (``model.safetensors``) is required. Everything else may be missing (a resumed run
without snapshots, a sweep's trial, data that moved): what is missing is named in ``problems`` and
the sections that need it say so in one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deltaprop import io
from deltaprop.datasets import Dataset
from deltaprop.datasets.mnist import load_mnist
from deltaprop.datasets.resolve import (
    load_resolved,
    resolve_columns,
    resolve_data,
    stored_location,
    stored_spec,
)
from deltaprop.errors import DeltapropError
from deltaprop.limits import MAX_REPORT_SNAPSHOTS, short_list, shorten, thin
from deltaprop.network import Network
from deltaprop.recording import SNAPSHOT_FILE, Snapshots
from deltaprop.run_schema import read_config, read_history

MODEL_FILE, HISTORY_FILE, CONFIG_FILE = "model.safetensors", "history.json", "config.json"
#: What may go wrong reading an optional part of a run (the report goes on without it).
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, DeltapropError)


@dataclass
class RunData:
    """A run directory, loaded.

    Attributes:
        path: the run directory.
        net, meta: the trained network and its model metadata.
        records, stop_reason: the history's per-epoch records ([] when there is no history.json).
        config: config.json's object ({} when absent).
        snapshots: the recorded snapshots, or None.
        dataset: the run's data, or None when it could not be loaded.
        problems: what could not be read, by part ("history", "config", "snapshots", "data").
    """

    path: Path
    net: Network
    meta: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    snapshots: Snapshots | None = None
    dataset: Dataset | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """(height, width) of an input image when the inputs are images, else None."""
        shape = self.meta.get("image_shape") or self.config.get("dataset", {}).get("image_shape")
        if self.dataset is not None and self.dataset.image_shape is not None:
            shape = self.dataset.image_shape
        if shape and len(shape) == 2 and int(shape[0]) * int(shape[1]) == self.net.sizes[0]:
            return int(shape[0]), int(shape[1])
        return None


def _why(error: BaseException) -> str:
    """One line: what went wrong."""
    if isinstance(error, FileNotFoundError) and error.filename is not None:
        return f"no such file: {error.filename}"
    return " ".join((str(error) or type(error).__name__).split())


def check_run_directory(path: str | os.PathLike[str]) -> Path:
    """``path`` as a run directory holding a model; raises FileNotFoundError or ValueError naming it."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"{os.fspath(path)}: no such run directory")
    if not folder.is_dir():
        raise ValueError(f"{os.fspath(path)} is not a directory; expected a run directory written by "
                         f"'deltaprop train'")
    if not (folder / MODEL_FILE).is_file():
        raise ValueError(f"{os.fspath(path)} holds no {MODEL_FILE}; expected a run directory written "
                         f"by 'deltaprop train' (or a sweep's trial)")
    return folder


def stored_data(meta: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The run's stored data settings (data_spec, data_dir, data_seed): the model's metadata, where
    it has them, else config.json's options (a sweep's trial keeps its space file's data_dir there
    as written, maybe relative; its model holds the absolute one, which wins)."""
    options = config.get("options") or {}
    fallback = {"data_spec": options.get("data"), "data_dir": options.get("data_dir"),
                "data_seed": options.get("seed")}
    return {key: value if meta.get(key) in (None, "") else meta[key] for key, value in fallback.items()}


def load_data(meta: dict[str, Any], config: dict[str, Any], dtype: str) -> Dataset:
    """The run's data set, found by ``resolve_data`` from ``stored_data``; MNIST is never
    downloaded. Raises ValueError when neither names a data set."""
    stored = stored_data(meta, config)
    if stored_spec(stored) is None:
        raise ValueError("the model names no data set (no data_spec in its metadata)")
    source = resolve_data(stored)
    spec, data_dir, seed = source
    with stored_location(source, from_model=True):  # the run folder is untrusted: never quote the file
        if spec.strip().lower() == "mnist":
            return load_mnist(data_dir=data_dir, dtype=dtype, download=False)
        return load_resolved(source, resolve_columns({**meta, **stored}, spec), dtype)


def shown_snapshots(snapshots: Snapshots) -> Snapshots:
    """``snapshots`` with at most ``MAX_REPORT_SNAPSHOTS`` epochs (evenly thinned, first and last kept)."""
    keep = thin(len(snapshots.epochs), MAX_REPORT_SNAPSHOTS)
    if len(keep) == len(snapshots.epochs):
        return snapshots
    snapshots.epochs = [snapshots.epochs[i] for i in keep]
    for q in snapshots.counts:
        snapshots.counts[q] = [snapshots.counts[q][i] for i in keep]
        snapshots.edges[q] = [snapshots.edges[q][i] for i in keep]
    if snapshots.first_layer is not None:
        snapshots.first_layer = [snapshots.first_layer[i] for i in keep]
    return snapshots


def load_run(path: str | os.PathLike[str], with_data: bool = True) -> RunData:
    """Load the run directory ``path`` (``check_run_directory``); the model must load, the rest may
    fail and is then named in ``problems``."""
    folder = check_run_directory(path)
    net, meta, _ = io.load_with_metadata(folder / MODEL_FILE)
    run = RunData(folder, net, meta)
    # a missing file leaves its sections out; a file that is there must pass its schema (one line)
    try:
        history = read_history(folder / HISTORY_FILE)
        run.records = [record.model_dump() for record in history.records]
        run.stop_reason = history.stop_reason
    except FileNotFoundError as error:
        run.problems["history"] = _why(error)
    try:
        run.config = read_config(folder / CONFIG_FILE)
    except FileNotFoundError as error:
        run.problems["config"] = _why(error)
    try:
        run.snapshots = Snapshots.load(folder / SNAPSHOT_FILE)
    except FileNotFoundError as error:
        run.problems["snapshots"] = _why(error)
    if run.snapshots is not None:
        run.snapshots = shown_snapshots(run.snapshots)
    if run.snapshots is not None and run.snapshots.sizes != list(net.sizes):
        raise ValueError(shorten(f"{os.fspath(folder / SNAPSHOT_FILE)}: field 'sizes': recorded for "
                                 f"{short_list(run.snapshots.sizes)}, not the model's "
                                 f"{short_list(net.sizes)}"))
    if with_data:
        try:
            run.dataset = load_data(meta, run.config, net.dtype.name)
            if run.dataset.n_features != net.sizes[0]:
                raise ValueError(f"the data have {run.dataset.n_features} features, the model "
                                 f"{net.sizes[0]} inputs")
            if (run.dataset.classes is not None and net.classes is not None
                    and list(run.dataset.classes) != net.classes.tolist()):
                raise ValueError("the data have other classes than the model")  # not quoted: not ours
        except READ_ERRORS as error:
            run.dataset = None
            run.problems["data"] = _why(error)
    else:
        run.problems["data"] = "not loaded (--no-data)"
    return run
