"""The data set a command-line spec names: ``digits``, ``mnist``, ``idx:DIR``, or a table file
(``.csv``, ``.tsv``, ``.parquet``, ``.npz``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from deltaprop.datasets.base import Dataset, PathLike
from deltaprop.datasets.mnist import load_idx_dir, load_mnist
from deltaprop.datasets.tables import TABLE_SUFFIXES, load_digits, load_table
from deltaprop.scaling import NO_SCALING, SCALINGS, StandardScaling

__all__ = ["AUTO_SCALE", "SCALE_CHOICES", "SPEC_FORMS", "is_table", "load_dataset", "scaling_for"]

AUTO_SCALE = "auto"
#: What ``--scale`` (and a sweep space's ``data.scale``) accepts.
SCALE_CHOICES = (AUTO_SCALE, *SCALINGS, NO_SCALING)

#: The accepted forms of a spec, as error messages and help texts list them.
SPEC_FORMS = (
    "'digits' (scikit-learn's bundled 8x8 digits), 'mnist' (downloaded if missing), "
    "'idx:DIR' (a folder of MNIST-style IDX files), or a table file: .npz (arrays X and y), .csv or "
    ".tsv (a header row naming the columns; delimiter , ; tab or |), or .parquet"
)


def is_table(spec: PathLike) -> bool:
    """Whether ``spec`` names a table file (by its suffix: .csv, .tsv, .parquet, .pq, .npz)."""
    return Path(os.fspath(spec).strip()).suffix.lower() in TABLE_SUFFIXES


def scaling_for(kind: str, spec: PathLike) -> str:
    """The input scaling ``kind`` asks for on the data ``spec`` names: ``auto`` is standard for a
    table file, none for the image sets (digits, mnist, idx:), whose loaders put the pixels in
    [0, 1]; any other kind is itself."""
    if kind != AUTO_SCALE:
        return kind
    return StandardScaling.name if is_table(spec) else NO_SCALING


def load_dataset(
    spec: PathLike,
    data_dir: PathLike | None = None,
    dtype: object = "float64",
    seed: int = 0,
    *,
    label_column: str | None = None,
    features: Sequence[str] | None = None,
    validation_data: PathLike | None = None,
    test_data: PathLike | None = None,
) -> Dataset:
    """The data set a command-line ``spec`` names.

    ``"digits"`` -> :func:`load_digits` (shuffled with ``seed``); ``"mnist"`` -> :func:`load_mnist`
    from ``data_dir`` (the fixed book split, ``seed`` unused); ``"idx:DIR"`` ->
    :func:`load_idx_dir`; a path ending in ``.csv``, ``.tsv``, ``.parquet``, ``.pq`` or ``.npz`` ->
    :func:`load_table` (shuffled with ``seed``), which alone takes ``label_column``, ``features``
    (the columns of a CSV or Parquet table) and the held-out files ``validation_data`` and
    ``test_data``. ``data_dir`` is used only for MNIST.

    Raises ValueError for any other spec (listing the accepted forms) or table options given with
    a spec that is no table, FileNotFoundError for a missing file or folder, and whatever the
    chosen loader raises (DataFormatError, DownloadError).
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise TypeError(f"dataset must be a string or path; expected {SPEC_FORMS}, got {spec!r}")
    if is_table(spec):
        return load_table(spec, dtype=dtype, seed=seed, label_column=label_column, features=features,
                          validation_data=validation_data, test_data=test_data)
    given = {"label_column": label_column, "features": features, "validation_data": validation_data,
             "test_data": test_data}
    named = [name for name, value in given.items() if value is not None]
    if named:
        raise ValueError(f"{', '.join(named)}: only for a table file (.csv, .tsv, .parquet, .npz), not "
                         f"for {spec!r}")
    keyword = spec.strip().lower()
    if keyword == "digits":
        return load_digits(dtype=dtype, seed=seed)
    if keyword == "mnist":
        return load_mnist(data_dir=data_dir, dtype=dtype)
    if keyword.startswith("idx:") and spec.strip()[4:]:
        return load_idx_dir(spec.strip()[4:], dtype=dtype)
    raise ValueError(f"unknown dataset {spec!r}; expected {SPEC_FORMS}")
