"""Checkpoints: everything a training run needs to continue exactly where it stopped.

A checkpoint is one model file (see ``deltaprop.io``), ``checkpoint.safetensors`` in the checkpoint
directory, that also holds the optimizer's per-parameter state as tensors (momentum velocities,
Adam's moments) and, in its JSON metadata under ``"checkpoint"``, the training state: the
configuration, the epoch and mini-batch reached, the optimizer's η and step count, the schedule's
state, the random generator's state, the epoch's running sums, the history so far, and a fingerprint
of the training data. It is replaced atomically (temporary file, fsync, rename), so a run killed at
any moment leaves the previous complete checkpoint in place.

``Checkpoint(directory)`` is the store ``fit(..., checkpoint=...)`` saves to and resumes from::

    history = deltaprop.fit(net, X, y, epochs=30, checkpoint=Checkpoint("ckpt"))
    history = deltaprop.fit(net, X, y, checkpoint=Checkpoint("ckpt"), resume=True)   # after a crash
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop import io
from deltaprop.errors import ModelFormatError
from deltaprop.network import Network

if TYPE_CHECKING:
    from deltaprop.trainer import Trainer

CHECKPOINT_NAME = "checkpoint.safetensors"
STATE_VERSION = 2

# key -> type of the values in the "checkpoint" metadata object
_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "version": int,
    "config": dict,
    "epoch": int,
    "batch": int,
    "optimizer": dict,
    "best_validation": (float, type(None)),
    "epochs_without_improvement": int,
    "rng": dict,
    "rng_epoch_start": dict,
    "sums": dict,
    "history": dict,
    "data": dict,
    "extra": dict,
}


@dataclass
class SavedCheckpoint:
    """A loaded checkpoint: the network, the training state and the optimizer's slot arrays."""

    net: Network
    state: dict[str, Any]
    slots: dict[str, list[np.ndarray]]
    path: Path


def checkpoint_file(directory: str | os.PathLike[str]) -> Path:
    return Path(directory) / CHECKPOINT_NAME


class Checkpoint:
    """A checkpoint directory: ``fit`` saves the trainer there after every epoch (and on a stop).

    Args:
        directory: created when first saved to.
        extra: JSON-ready values stored in every checkpoint (the command line keeps its options there).
    """

    def __init__(self, directory: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> None:
        self.directory = Path(directory)
        self.extra = dict(extra or {})

    def save(self, trainer: Trainer) -> None:
        numbers, slots = trainer.state()
        state = {"version": STATE_VERSION, **numbers, "extra": self.extra}
        path = checkpoint_file(self.directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        io.save(trainer.net, path, extra_metadata={"checkpoint": state}, slots=slots)

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not checkpoint_file(self.directory).is_file():
            return None
        saved = load_checkpoint(self.directory)
        net = saved.net
        numbers = {**saved.state, "network": {
            "sizes": list(net.sizes), "activations": net.activation_names,
            "cost": net.cost_function.name, "dtype": net.dtype.name}}
        return numbers, {"weights": net.weights, "biases": net.biases, "optimizer": saved.slots}


def _check_state(path: Path, state: Any, n_layers: int) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path}: not a checkpoint: its metadata has no 'checkpoint' object")
    if isinstance(state.get("version"), int) and state["version"] > STATE_VERSION:
        raise ModelFormatError(
            f"{path}: the checkpoint was written by a newer deltaprop (state version "
            f"{state['version']}); upgrade deltaprop to resume it"
        )
    if state.get("version") != STATE_VERSION:
        raise ModelFormatError(
            f"{path}: the checkpoint has state version {state.get('version')!r}, this deltaprop "
            f"resumes version {STATE_VERSION}; finish the run with the deltaprop that started it"
        )
    for key, kind in _STATE_TYPES.items():
        value = state.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = state[key] = float(value)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ModelFormatError(f"{path}: checkpoint field {key!r} is missing or malformed")
    sums = state["sums"].get("nabla_b_sum")
    if state["epoch"] < 0 or state["batch"] < 0 or not isinstance(sums, list) or len(sums) != n_layers:
        raise ModelFormatError(f"{path}: checkpoint position or running sums are invalid")
    for key in ("rng", "rng_epoch_start"):
        try:
            np.random.default_rng().bit_generator.state = state[key]
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ModelFormatError(f"{path}: checkpoint field {key!r} is invalid: {error}") from None
    return state


def load_checkpoint(directory: str | os.PathLike[str]) -> SavedCheckpoint:
    """The checkpoint in ``directory``.

    Raises:
        FileNotFoundError: the directory holds no checkpoint.
        ModelFormatError: the checkpoint is corrupt, truncated, of another version, or malformed.
    """
    path = checkpoint_file(directory)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume in {directory}: expected {path}")
    net, meta, slots = io.load_with_metadata(path)
    state = _check_state(path, meta.get("checkpoint"), net.num_layers)
    return SavedCheckpoint(net, state, slots, path)
