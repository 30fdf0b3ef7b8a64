"""Which data a saved model is run on: one rule for every command that takes a model.

What the user gives (``--data``, ``--data-dir``, ``--seed``) wins; else what the model stores in its
metadata (``data_spec``, the absolute ``data_dir``, ``data_seed``); else the defaults (the digits,
the loader's default folder, seed 0). The stored folder belongs to the stored spec: it is used only
when the spec is the model's own and the folder still exists (a model trained on another machine
falls back to the default folder).

A table's columns follow the same rule (``resolve_columns``): ``--label-column`` and ``--features``
win, else the label column and feature names the model stores, for a CSV or Parquet table; the
held-out validation and test files a model was trained with go with its own spec only.
``load_resolved`` loads what both resolved.

A model is untrusted input: the location it stores may name any local file. ``stored_location``
turns an error reading data found there into one line naming the path, never quoting what the file
holds (a CSV header, a label).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from deltaprop.datasets.base import Dataset
from deltaprop.datasets.spec import is_table, load_dataset
from deltaprop.errors import DataFormatError
from deltaprop.limits import shorten_middle

__all__ = ["DEFAULT_SEED", "DEFAULT_SPEC", "DataColumns", "DataSource", "load_resolved", "resolve_columns",
           "resolve_data", "stored_location", "stored_spec"]

DEFAULT_SPEC = "digits"
DEFAULT_SEED = 0


class DataSource(NamedTuple):
    """The data to load: a ``--data`` spec, its folder (None: the loader's default), the split seed."""

    spec: str
    data_dir: str | None
    seed: int


def stored_spec(meta: Mapping[str, Any]) -> str | None:
    """The data spec the model was trained on, or None when its metadata names none (or no text)."""
    spec = meta.get("data_spec")
    return spec if isinstance(spec, str) and spec.strip() else None


def resolve_data(meta: Mapping[str, Any], data: str | None = None, data_dir: str | None = None,
                 seed: int | None = None) -> DataSource:
    """The data a model with metadata ``meta`` is run on, given what the user passed (None: not
    given): ``data`` wins, else the model's ``data_spec``, else :data:`DEFAULT_SPEC`; ``data_dir``
    wins, else the model's ``data_dir`` when the spec is the model's own and that folder exists,
    else None; ``seed`` wins, else the model's valid ``data_seed``, else :data:`DEFAULT_SEED`."""
    spec = data if data is not None else stored_spec(meta) or DEFAULT_SPEC
    if data_dir is None:
        folder = meta.get("data_dir")
        if _own_spec(meta, spec) and isinstance(folder, str) and os.path.isdir(folder):
            data_dir = folder
    if seed is None:
        stored = meta.get("data_seed")
        valid = isinstance(stored, int) and not isinstance(stored, bool) and stored >= 0
        seed = stored if valid else DEFAULT_SEED
    return DataSource(spec, data_dir, seed)


def _own_spec(meta: Mapping[str, Any], spec: str) -> bool:
    """Whether ``spec`` is the one the model was trained on (any case, spaces aside)."""
    own = stored_spec(meta)
    return own is not None and spec.strip().lower() == own.strip().lower()


class DataColumns(NamedTuple):
    """How a table file is loaded (``load_dataset``'s keywords): its label column and feature columns
    by name, and the held-out files used whole as its validation and test splits (None: not given)."""

    label_column: str | None = None
    features: tuple[str, ...] | None = None
    validation_data: str | None = None
    test_data: str | None = None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def resolve_columns(meta: Mapping[str, Any], spec: str, label_column: str | None = None,
                    features: tuple[str, ...] | None = None) -> DataColumns:
    """The columns of ``spec`` a model with metadata ``meta`` runs on: ``label_column`` and
    ``features`` (None: not given) win, else, for a CSV or Parquet table, the model's stored
    ``label_column`` and ``features``; the model's held-out ``validation_data`` and ``test_data``
    files when ``spec`` is its own."""
    if is_table(spec) and not spec.strip().lower().endswith(".npz"):
        stored = meta.get("features")
        if features is None and isinstance(stored, list) and all(isinstance(name, str) for name in stored):
            features = tuple(stored) or None
        label_column = label_column if label_column is not None else _text(meta.get("label_column"))
    own = _own_spec(meta, spec)
    return DataColumns(label_column, features, *(_text(meta.get(key)) if own else None
                                                 for key in ("validation_data", "test_data")))


def load_resolved(source: DataSource, columns: DataColumns, dtype: object = "float64") -> Dataset:
    """The data set of a resolved ``source`` and ``columns``, in ``dtype`` (``load_dataset``)."""
    spec, data_dir, seed = source
    return load_dataset(spec, data_dir=data_dir, dtype=dtype, seed=seed, **columns._asdict())


def _location(source: DataSource) -> str:
    """The path a data source reads: MNIST's folder, an ``idx:`` spec's folder, else the spec."""
    spec = source.spec.strip()
    if spec.lower() == "mnist":
        return source.data_dir or spec
    return spec[4:] if spec.lower().startswith("idx:") else spec


@contextlib.contextmanager
def stored_location(source: DataSource, from_model: bool) -> Iterator[None]:
    """Within the block, a ``DataFormatError`` (or, ``ValueError`` checking the data against the
    model) for data whose location came ``from_model`` becomes one line naming the path and saying
    it is not readable data, without the file's content; data the user named are left alone."""
    try:
        yield
    except (DataFormatError, ValueError) as error:
        if not from_model:
            raise
        kind = "data" if isinstance(error, DataFormatError) else "data for this model"
        raise DataFormatError(shorten_middle(
            f"{_location(source)}: the data location stored in the model is not readable {kind} "
            f"(its content is not shown)")) from None
