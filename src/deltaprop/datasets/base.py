"""What every loader shares: the :class:`Dataset` and :class:`Split` containers, the size limit on
any one array, and the checks of paths and labels."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from deltaprop._validation import as_labels
from deltaprop.errors import DataFormatError

__all__ = ["MAX_DATA_BYTES", "Dataset", "PathLike", "Split", "existing_file", "file_labels"]

PathLike = str | os.PathLike[str]

#: Largest array (in bytes of data) that any file may declare; larger headers are rejected unread.
MAX_DATA_BYTES = 2**31
#: Bytes read at a time from files and downloads.
CHUNK = 1 << 20


class Split(NamedTuple):
    """One part of a data set: ``X`` (m, n_features) floats, ``y`` (m,) int64 class labels."""

    X: np.ndarray
    y: np.ndarray


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split three ways, rows are examples.

    ``train``, ``validation`` and ``test`` share n_features and dtype; labels lie in
    [0, n_classes). ``image_shape`` is (height, width) when each row is a flattened image
    (row-major), else None.
    """

    name: str
    train: Split
    validation: Split
    test: Split
    n_classes: int
    image_shape: tuple[int, int] | None = None

    @property
    def n_features(self) -> int:
        """Columns of X (784 for MNIST, 64 for digits)."""
        return int(self.train.X.shape[1])


def existing_file(path: PathLike) -> Path:
    """``path`` (with ``~`` expanded) if it is a file; FileNotFoundError naming it otherwise."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return path


def file_labels(values: np.ndarray, name: str, where: Callable[[int], str]) -> np.ndarray:
    """int64 labels read from a file: integers or whole-number floats in [0, MAX_CLASSES).

    ``name`` names the array (with its file) and ``where(i)`` entry i in messages. Everything wrong
    with the values is a DataFormatError, a non-numeric dtype included: :func:`as_labels` does the
    checking.
    """
    if values.dtype.kind not in "iuf":
        raise DataFormatError(f"{name} must hold integer class labels, got dtype {values.dtype}")
    return as_labels(name, values, error=DataFormatError, where=where)
