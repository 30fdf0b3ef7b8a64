"""The declared schemas of a run folder's ``history.json`` and ``config.json``, and their readers.

A run folder is untrusted input (it is mailed around, or tampered with): ``read_history`` and
``read_config`` read each file within the size and depth limits of ``deltaprop.limits``
(``parse_json``) and check it against its schema (``RunHistory``: the records of
``deltaprop.checkpoint_schema.Record``, at most ``MAX_HISTORY_RECORDS``; ``RunConfig``: the fields
the report reads, typed and bounded, other fields any JSON within the limits), raising ``ValueError``
with one line naming the file and the field. ``snapshots.npz`` is checked by
``deltaprop.recording.Snapshots.load``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError, model_validator

from deltaprop.checkpoint_schema import Record
from deltaprop.limits import MAX_CONFIG_BYTES, MAX_HISTORY_BYTES, MAX_HISTORY_RECORDS, parse_json, shorten
from deltaprop.schema import Count, Positive, Strict, validation_message

__all__ = ["RunConfig", "RunHistory", "read_config", "read_history"]

NAME_LENGTH = 4096  # a data spec, a folder, a name
Name = Annotated[str, Field(max_length=NAME_LENGTH)]
Short = Annotated[str, Field(max_length=200)]


class RunHistory(Strict):
    """``history.json``: ``History.as_dict()``; ``kept_epoch``, the epoch the model holds, is one of
    the records' (absent from runs that predate it: theirs is the last)."""

    records: Annotated[list[Record], Field(max_length=MAX_HISTORY_RECORDS)]
    stop_reason: Annotated[str, Field(min_length=1, max_length=1000)]
    kept_epoch: Positive | None = None

    @model_validator(mode="after")
    def _kept_recorded(self) -> RunHistory:
        if self.kept_epoch is not None and all(r.epoch != self.kept_epoch for r in self.records):
            raise ValueError(f"'kept_epoch' is {self.kept_epoch}, but no record is of that epoch")
        return self


class Open(Strict):
    """A config.json object: its declared fields typed, other fields any JSON."""

    model_config = ConfigDict(extra="allow")


class RunOptions(Open):
    data: Name | None = None
    data_dir: Name | None = None
    seed: Count | None = None


class RunDataset(Open):
    name: Name | None = None
    image_shape: Annotated[list[Positive], Field(min_length=2, max_length=2)] | None = None
    rows: Annotated[dict[Short, Count], Field(max_length=3)] = {}


class RunNetwork(Open):
    init: Short | None = None


class RunConfig(Open):
    """``config.json`` as ``deltaprop train`` and ``deltaprop sweep`` write it."""

    command: Short | None = None
    created: Short | None = None
    deltaprop_version: Short | None = None
    options: RunOptions = RunOptions()
    dataset: RunDataset = RunDataset()
    network: RunNetwork = RunNetwork()
    training: Annotated[dict[Short, Any], Field(max_length=100)] = {}


def _read(path: Path, max_bytes: int) -> Any:
    """The JSON of ``path``, read only when within ``max_bytes`` (``parse_json`` checks the rest)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{os.fspath(path)} is {size:,} bytes long, more than the limit of {max_bytes:,}")
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
    return parse_json(data, os.fspath(path), max_bytes)


def read_history(path: str | os.PathLike[str]) -> RunHistory:
    """``history.json`` at ``path``, checked; raises FileNotFoundError, or ValueError in one line."""
    text = _read(Path(path), MAX_HISTORY_BYTES)
    try:
        return RunHistory.model_validate(text)
    except ValidationError as error:
        raise ValueError(shorten(validation_message(error, os.fspath(path)))) from None


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` at ``path``, checked (as a plain dict); raises FileNotFoundError, or ValueError
    in one line naming the file and the field."""
    text = _read(Path(path), MAX_CONFIG_BYTES)
    try:
        RunConfig.model_validate(text)
    except ValidationError as error:
        raise ValueError(shorten(validation_message(error, os.fspath(path)))) from None
    return dict(text)
