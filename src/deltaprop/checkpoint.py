"""Checkpoints: everything a training run needs to continue exactly where it stopped.

A checkpoint is one model file (see ``deltaprop.io``), ``checkpoint.safetensors`` in the checkpoint
directory, that also holds as tensors the optimizer's per-parameter state (momentum velocities,
Adam's moments) and the parameters of the best epoch so far (``keep="best"``: the slot ``"kept"``)
and, in its JSON metadata under ``"checkpoint"``, the training state: the configuration, the epoch
and mini-batch reached, the optimizer's η and step count, the schedule's state, the random
generator's state, the epoch's running sums, the history so far, and a fingerprint of the training
data. It is replaced atomically (temporary file, fsync, rename), so a run killed at
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
from deltaprop.checkpoint_schema import STATE_VERSION, validate_state
from deltaprop.errors import ModelFormatError
from deltaprop.limits import short_repr, shorten
from deltaprop.network import Network

if TYPE_CHECKING:
    from deltaprop.trainer import Trainer

CHECKPOINT_NAME = "checkpoint.safetensors"


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
        # never write what load would refuse
        validate_state(state, list(trainer.net.sizes), sorted(slots))
        path = checkpoint_file(self.directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        io.save(trainer.net, path, extra_metadata={"checkpoint": state}, slots=slots,
                training={})  # the state's config is the run's configuration: stored once

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not checkpoint_file(self.directory).is_file():
            return None
        saved = load_checkpoint(self.directory)
        net = saved.net
        numbers = {**saved.state, "network": net.architecture}
        return numbers, {"weights": net.weights, "biases": net.biases, "optimizer": saved.slots}


def _check_state(path: Path, state: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The training state of a checkpoint, checked against ``deltaprop.checkpoint_schema``."""
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path}: not a checkpoint: its metadata has no 'checkpoint' object")
    version = state.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > STATE_VERSION:
        raise ModelFormatError(shorten(
            f"{path}: the checkpoint was written by a newer deltaprop (state version "
            f"{short_repr(version)}); upgrade deltaprop to resume it"
        ))
    if version != STATE_VERSION or isinstance(version, bool):
        raise ModelFormatError(shorten(
            f"{path}: the checkpoint has state version {short_repr(version)}, this deltaprop "
            f"resumes version {STATE_VERSION}; finish the run with the deltaprop that started it"
        ))
    try:
        return validate_state(state, meta["sizes"], meta["slots"])
    except ValueError as error:
        raise ModelFormatError(shorten(f"{path}: {error}")) from None


def load_checkpoint(directory: str | os.PathLike[str]) -> SavedCheckpoint:
    """The checkpoint in ``directory``.

    Raises:
        FileNotFoundError: the directory holds no checkpoint.
        ModelFormatError: the checkpoint is corrupt, truncated, of another version, or its state
            breaks the schema of ``deltaprop.checkpoint_schema`` (one line naming the field).
    """
    path = checkpoint_file(directory)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume in {directory}: expected {path}")
    net, meta, slots = io.load_with_metadata(path)
    state = _check_state(path, meta.get("checkpoint"), meta)
    return SavedCheckpoint(net, state, slots, path)
