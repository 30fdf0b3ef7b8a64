"""What every loader shares: the :class:`Dataset` and :class:`Split` containers, the size limit on
any one array, and the checks of paths and labels."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from deltaprop._validation import FINITE_CHECK_ROWS, as_labels, first_non_finite, label_array
from deltaprop.errors import DataFormatError
from deltaprop.limits import (
    MAX_CLASSES,
    MAX_DATA_BYTES,
    MAX_DECODED_BYTES,
    MAX_FEATURE_MAGNITUDE,
    check_memory,
    max_classes_for,
    short_list,
)

__all__ = ["MAX_DATA_BYTES", "Dataset", "PathLike", "Split", "check_decoded", "check_finite",
           "existing_file", "file_labels", "indexed_labels", "table_labels"]

Label = int | str

PathLike = str | os.PathLike[str]
#: Bytes read at a time from files and downloads.
CHUNK = 1 << 20


class Split(NamedTuple):
    """One part of a data set: ``X`` (m, n_features) floats, ``y`` (m,) int64 class indices."""

    X: np.ndarray
    y: np.ndarray


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split three ways, rows are examples.

    ``train``, ``validation`` and ``test`` share n_features and dtype; their ``y`` hold class
    indices in [0, n_classes). ``image_shape`` is (height, width) when each row is a flattened image
    (row-major), else None. ``classes`` is None when the file's labels are those indices; else it
    holds the n_classes labels of the file (sorted integers or strings), ``classes[y]`` being the
    label of a row: pass it to ``Network(..., classes=dataset.classes)``, train on ``y``, and the
    network's ``predict`` returns the file's labels. ``features`` names X's columns and
    ``label_column`` the labels' column, for a table with a header (.csv, .parquet); else None.
    """

    name: str
    train: Split
    validation: Split
    test: Split
    n_classes: int
    image_shape: tuple[int, int] | None = None
    classes: tuple[Label, ...] | None = None
    features: tuple[str, ...] | None = None
    label_column: str | None = None

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


def check_decoded(what: str, nbytes: int) -> None:
    """Refuse, before allocating, arrays made from a file that need more than
    :data:`~deltaprop.limits.MAX_DECODED_BYTES` or the memory available (DataFormatError)."""
    check_memory(what, nbytes, MAX_DECODED_BYTES, error=DataFormatError)


def check_finite(table: np.ndarray, message: Callable[[int, int], str]) -> None:
    """DataFormatError saying ``message(row, column)`` of the first NaN or infinite entry of a float
    table read from a file (found in bounded extra memory: :func:`first_non_finite`)."""
    bad = first_non_finite(table)
    if bad is not None:
        raise DataFormatError(message(*bad))


def check_magnitude(table: np.ndarray, where: Callable[[int, int], str]) -> None:
    """DataFormatError naming ``where(row, column)`` of the first entry of a 2-D table of finite
    features beyond ±MAX_FEATURE_MAGNITUDE (arithmetic on it would overflow), in bounded memory."""
    if table.dtype.kind != "f" or float(np.finfo(table.dtype).max) <= MAX_FEATURE_MAGNITUDE:
        return  # integers, and float32 (overflow to inf was refused as not finite), cannot exceed it
    for start in range(0, table.shape[0], FINITE_CHECK_ROWS):
        big = np.abs(table[start:start + FINITE_CHECK_ROWS]) > MAX_FEATURE_MAGNITUDE
        if big.any():
            row, column = (int(i) for i in np.argwhere(big)[0])
            raise DataFormatError(
                f"{where(start + row, column)} = {table[start + row, column]:g} is beyond "
                f"±{MAX_FEATURE_MAGNITUDE:g}, where arithmetic on it overflows; scale the features "
                "(e.g. to [0, 1]) first")


def file_labels(values: np.ndarray, name: str, where: Callable[[int], str]) -> np.ndarray:
    """int64 labels read from a file: integers or whole-number floats in [0, MAX_CLASSES), that
    number their classes densely enough: max label + 1 <= 2 x (distinct labels) + 10
    (:func:`~deltaprop.limits.max_classes_for`), so that a stray label is never turned into a giant
    output layer.

    ``name`` names the array (with its file) and ``where(i)`` entry i in messages. Everything wrong
    with the values is a DataFormatError, a non-numeric dtype included: :func:`as_labels` does the
    checking.
    """
    if values.dtype.kind not in "iuf":
        raise DataFormatError(f"{name} must hold integer class labels, got dtype {values.dtype}")
    labels = as_labels(name, values, error=DataFormatError, where=where)
    distinct = int(np.unique(labels).size)
    n_classes = int(labels.max()) + 1
    if n_classes > max_classes_for(distinct):
        i = int(np.argmax(labels))
        raise DataFormatError(
            f"{where(i)} = {labels[i]} would make {n_classes} classes, but the labels take only "
            f"{distinct} distinct values (at most {max_classes_for(distinct)} classes: 2 x distinct "
            f"+ 10); number the classes 0, 1, 2, ..."
        )
    return labels


def table_labels(values: np.ndarray, name: str,
                 where: Callable[[int], str]) -> tuple[np.ndarray, tuple[Label, ...] | None]:
    """Labels of a table file (.npz, .csv): any integers (or whole-number floats) or strings, as
    int64 class indices (m,) and the classes they index (``indexed_labels``). DataFormatError for
    anything else, naming entry i by ``where(i)``."""
    if values.dtype.kind not in "iufU":
        raise DataFormatError(f"{name} must hold class labels (integers or strings), got dtype "
                              f"{values.dtype}")
    labels = label_array(name, values, error=DataFormatError, where=where)
    classes, indices = np.unique(labels, return_inverse=True)
    return indexed_labels(classes, indices.reshape(-1).astype(np.int64), name)


def indexed_labels(classes: np.ndarray, indices: np.ndarray,
                   name: str) -> tuple[np.ndarray, tuple[Label, ...] | None]:
    """(y, classes) for sorted distinct ``classes`` (at most MAX_CLASSES) and each row's index into
    them. Integers >= 0 that number their classes densely (max + 1 <= 2 x distinct + 10,
    :func:`~deltaprop.limits.max_classes_for`, as IDX labels must) stay the labels, classes None;
    other labels (strings, negative or sparse integers) become the indices, classes their values."""
    if classes.size > MAX_CLASSES:
        raise DataFormatError(f"{name} holds {classes.size} distinct labels "
                              f"({short_list(classes.tolist())}); at most {MAX_CLASSES} classes")
    if classes.dtype.kind != "U" and classes[0] >= 0 and (
            int(classes[-1]) + 1 <= max_classes_for(classes.size)):
        return classes.astype(np.int64)[indices], None
    return indices, tuple(classes.tolist())
