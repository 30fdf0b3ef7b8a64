"""Which data a saved model is run on: one rule for every command that takes a model.

What the user gives (``--data``, ``--data-dir``, ``--seed``) wins; else what the model stores in its
metadata (``data_spec``, the absolute ``data_dir``, ``data_seed``); else the defaults (the digits,
the loader's default folder, seed 0). The stored folder belongs to the stored spec: it is used only
when the spec is the model's own and the folder still exists (a model trained on another machine
falls back to the default folder).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["DEFAULT_SEED", "DEFAULT_SPEC", "DataSource", "resolve_data", "stored_spec"]

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
    own = stored_spec(meta)
    spec = data if data is not None else own or DEFAULT_SPEC
    if data_dir is None:
        folder = meta.get("data_dir")
        same_spec = own is not None and spec.strip().lower() == own.strip().lower()
        if same_spec and isinstance(folder, str) and os.path.isdir(folder):
            data_dir = folder
    if seed is None:
        stored = meta.get("data_seed")
        valid = isinstance(stored, int) and not isinstance(stored, bool) and stored >= 0
        seed = stored if valid else DEFAULT_SEED
    return DataSource(spec, data_dir, seed)
