"""Checkpoints: everything a training run needs to continue exactly where it stopped.

A checkpoint is one model file (see ``deltaprop.io``), ``checkpoint.safetensors`` in the checkpoint
directory, that also holds the momentum velocities as tensors and, in its JSON metadata under
``"checkpoint"``, the training state: the configuration, the epoch and mini-batch reached, η and the
schedule's state, the random generator's state, the history so far, and a fingerprint of the
training data. It is replaced atomically (temporary file, fsync, rename), so a run killed at any
moment leaves the previous complete checkpoint in place.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop import io
from deltaprop.errors import ModelFormatError
from deltaprop.network import Network

CHECKPOINT_NAME = "checkpoint.safetensors"
STATE_VERSION = 1

# key -> type of the values in the "checkpoint" metadata object
_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "version": int,
    "config": dict,
    "epoch": int,
    "batch": int,
    "eta": float,
    "best_validation": (float, type(None)),
    "epochs_without_improvement": int,
    "rng": dict,
    "rng_epoch_start": dict,
    "speed_sums": list,
    "history": dict,
    "data": dict,
    "extra": dict,
}


@dataclass
class Checkpoint:
    """A loaded checkpoint: the network, the training state and the momentum velocities."""

    net: Network
    state: dict[str, Any]
    velocities: io.Velocities | None
    path: Path


def checkpoint_file(directory: str | os.PathLike[str]) -> Path:
    return Path(directory) / CHECKPOINT_NAME


def data_fingerprint(X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """Rows, columns and a BLAKE2 digest of the training arrays, to refuse resuming on other data."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (X, Y):
        digest.update(np.ascontiguousarray(array).view(np.uint8).reshape(-1))
    return {"rows": int(X.shape[0]), "columns": int(X.shape[1]), "blake2b": digest.hexdigest()}


def save_checkpoint(
    directory: str | os.PathLike[str],
    net: Network,
    state: dict[str, Any],
    velocities: io.Velocities | None,
) -> Path:
    """Write (or atomically replace) the checkpoint in ``directory``, creating the directory."""
    path = checkpoint_file(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    io.save(net, path, extra_metadata={"checkpoint": {"version": STATE_VERSION, **state}},
            velocities=velocities)
    return path


def _check_state(path: Path, state: Any, n_layers: int) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path}: not a checkpoint: its metadata has no 'checkpoint' object")
    for key, kind in _STATE_TYPES.items():
        value = state.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = state[key] = float(value)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ModelFormatError(f"{path}: checkpoint field {key!r} is missing or malformed")
    if state["version"] > STATE_VERSION:
        raise ModelFormatError(
            f"{path}: the checkpoint was written by a newer deltaprop (state version "
            f"{state['version']}); upgrade deltaprop to resume it"
        )
    if state["epoch"] < 0 or state["batch"] < 0 or len(state["speed_sums"]) != n_layers:
        raise ModelFormatError(f"{path}: checkpoint position or learning-speed sums are invalid")
    for key in ("rng", "rng_epoch_start"):
        try:
            np.random.default_rng().bit_generator.state = state[key]
        except (TypeError, ValueError, KeyError) as error:
            raise ModelFormatError(f"{path}: checkpoint field {key!r} is invalid: {error}") from None
    return state


def load_checkpoint(directory: str | os.PathLike[str]) -> Checkpoint:
    """The checkpoint in ``directory``.

    Raises:
        FileNotFoundError: the directory holds no checkpoint.
        ModelFormatError: the checkpoint is corrupt, truncated, of a newer version, or malformed.
    """
    path = checkpoint_file(directory)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume in {directory}: expected {path}")
    net, meta, velocities = io.load_with_metadata(path)
    state = _check_state(path, meta.get("checkpoint"), net.num_layers)
    return Checkpoint(net, state, velocities, path)
