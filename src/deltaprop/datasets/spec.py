"""The data set a command-line spec names: ``digits``, ``mnist``, ``idx:DIR``, ``*.npz``, ``*.csv``."""

from __future__ import annotations

import os
from pathlib import Path

from deltaprop.datasets.base import Dataset, PathLike
from deltaprop.datasets.mnist import load_idx_dir, load_mnist
from deltaprop.datasets.tables import load_csv, load_digits, load_npz

__all__ = ["SPEC_FORMS", "load_dataset"]

#: The accepted forms of a spec, as error messages and help texts list them.
SPEC_FORMS = (
    "'digits' (scikit-learn's bundled 8x8 digits), 'mnist' (downloaded if missing), "
    "'idx:DIR' (a folder of MNIST-style IDX files), or a path ending in .npz (arrays X and y) "
    "or .csv (a header row with a 'label' column)"
)


def load_dataset(
    spec: PathLike,
    data_dir: PathLike | None = None,
    dtype: object = "float64",
    seed: int = 0,
) -> Dataset:
    """The data set a command-line ``spec`` names.

    ``"digits"`` -> :func:`load_digits` (shuffled with ``seed``); ``"mnist"`` -> :func:`load_mnist`
    from ``data_dir`` (the fixed book split, ``seed`` unused); ``"idx:DIR"`` ->
    :func:`load_idx_dir`; a path ending in ``.npz`` or ``.csv`` -> :func:`load_npz` or
    :func:`load_csv` (shuffled with ``seed``). ``data_dir`` is used only for MNIST.

    Raises ValueError for any other spec (listing the accepted forms), FileNotFoundError for a
    missing file or folder, and whatever the chosen loader raises (DataFormatError,
    DownloadError).
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise TypeError(f"dataset must be a string or path; expected {SPEC_FORMS}, got {spec!r}")
    keyword = spec.strip().lower()
    if keyword == "digits":
        return load_digits(dtype=dtype, seed=seed)
    if keyword == "mnist":
        return load_mnist(data_dir=data_dir, dtype=dtype)
    if keyword.startswith("idx:") and spec.strip()[4:]:
        return load_idx_dir(spec.strip()[4:], dtype=dtype)
    suffix = Path(spec).suffix.lower()
    if suffix == ".npz":
        return load_npz(spec, dtype=dtype, seed=seed)
    if suffix == ".csv":
        return load_csv(spec, dtype=dtype, seed=seed)
    raise ValueError(f"unknown dataset {spec!r}; expected {SPEC_FORMS}")
