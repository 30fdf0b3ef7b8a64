"""The columns of a table file (``.csv``, ``.parquet``) chosen by name, and its label column as read.

A table has a header of column names. :func:`choose_columns` picks the label column (the one named,
else ``label``, else ``target``), an optional id column, and the feature columns (those named, else
every other column), with one clear line for a missing or ambiguous name. :class:`LabelColumn` is a
label column as a reader gives it: its distinct values and each row's index into them, from which
:func:`class_indices` makes a data set's classes and :func:`indices_among` places the labels of
another file among the classes already known. :class:`TableRows` is what every table reader
returns (the CSV and ``.npz`` readers of :mod:`~deltaprop.datasets.tables`, the Parquet reader of
:mod:`~deltaprop.datasets.parquet`), its features made finite and converted by
:func:`checked_features`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from deltaprop._validation import as_labels
from deltaprop.datasets.base import Label, check_finite, check_magnitude, indexed_labels, table_labels
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_COLUMN_NAME_CHARS, MAX_TABLE_COLUMNS, short_list

__all__ = ["LABEL_NAMES", "Columns", "LabelColumn", "TableOptions", "TableRows", "checked_features",
           "choose_columns", "class_indices", "indices_among", "is_number"]

#: The names a label column is found by when none is given, in order (any case).
LABEL_NAMES = ("label", "target")
#: Said of a text column chosen as a feature.
NOT_NUMBERS = ("feature columns must hold numbers (text columns need one-hot encoding, not supported "
               "yet: leave them out of the features)")
#: Copies of the values a table reader may make (as read, converted, shuffled), counted when
#: checking the memory they need.
VALUE_COPIES = 3
#: Bytes counted per id cell kept (a Python string of a short text), checking the memory needed.
ID_BYTES = 80


class Columns(NamedTuple):
    """Chosen columns, as 0-based positions in the header: ``features`` in the order chosen, the
    label column and the id column (None: none)."""

    features: list[int]
    label: int | None
    ids: int | None


def is_number(cell: str) -> bool:
    """Whether ``float(cell)`` reads ``cell`` (so "nan" and "inf" count: finiteness is separate)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _find(where: str, names: Sequence[str], name: str, required: bool) -> int | None:
    """The position of column ``name``: the one spelt exactly so, else the one spelt so in another
    case; None when there is none and it is not ``required``, else DataFormatError listing them."""
    for same in (lambda other: other == name, lambda other: other.lower() == name.lower()):
        found = [i for i, other in enumerate(names) if same(other)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise DataFormatError(f"{where}: {len(found)} columns are named {name!r}; column names "
                                  f"must be distinct: {short_list(names)}")
    if required:
        raise DataFormatError(f"{where}: no column named {name!r}; the columns are {short_list(names)}")
    return None


def _label(where: str, names: Sequence[str], label_column: str | None, need_labels: bool) -> int | None:
    if label_column is not None:
        return _find(where, names, label_column, need_labels)
    for name in LABEL_NAMES:
        found = _find(where, names, name, False)
        if found is not None:
            return found
    if need_labels:
        raise DataFormatError(
            f"{where}: no 'label' or 'target' column among {short_list(names)}; name the label column "
            f"(--label-column NAME)")
    return None


def choose_columns(where: str, names: Sequence[str], *, label_column: str | None = None,
                   features: Sequence[str] | None = None, id_column: str | None = None,
                   need_labels: bool = True, n_features: int | None = None,
                   ignored: Sequence[str] = ()) -> Columns:
    """The columns of a table whose header is ``names`` (``where`` names it in messages).

    The label column: ``label_column``, else the first of :data:`LABEL_NAMES` there; it must be
    there when ``need_labels``, else it is None when absent. ``id_column``, if given, must be there.
    The features: ``features`` in their order, else every other column but the ``ignored`` ones (a
    pandas index stored in a Parquet file). Names match exactly, else
    in any case when only one column does. When ``n_features`` is given there must be that many.

    Raises DataFormatError naming a missing, repeated or over-long name, a feature that is also the
    label or id column, no feature at all, or a count other than ``n_features``.
    """
    if len(names) > MAX_TABLE_COLUMNS:
        raise DataFormatError(f"{where}: {len(names):,} columns, more than the limit of "
                              f"{MAX_TABLE_COLUMNS:,}")
    label = _label(where, names, label_column, need_labels)
    ids = None if id_column is None else _find(where, names, id_column, True)
    if ids is not None and ids == label:
        raise DataFormatError(f"{where}: column {names[ids]!r} cannot be both the label and the id column")
    if features is None:
        chosen = [i for i in range(len(names)) if i not in (label, ids) and names[i] not in ignored]
    else:
        chosen = [_find(where, names, name, True) for name in features]  # type: ignore[misc]
        for i in chosen:
            role = "label" if i == label else "id" if i == ids else None
            if role is not None:
                raise DataFormatError(f"{where}: column {names[i]!r} is the {role} column, not a feature")
        if len(set(chosen)) != len(chosen):
            raise DataFormatError(f"{where}: the features name a column twice: {short_list(features)}")
    if not chosen:
        raise DataFormatError(f"{where}: no feature columns besides the label: {short_list(names)}")
    if n_features is not None and len(chosen) != n_features:
        raise DataFormatError(f"{where}: {len(chosen)} feature columns "
                              f"({short_list(names[i] for i in chosen)}), but {n_features} are "
                              "expected (the model's inputs)")
    for i in [*chosen, *([] if label is None else [label])]:
        if not names[i]:
            raise DataFormatError(f"{where}: column {i + 1} has no name (a row index, as pandas writes "
                                  "one?); name it in the header, or choose the features (--features)")
        if len(names[i]) > MAX_COLUMN_NAME_CHARS:
            raise DataFormatError(f"{where}: column {i + 1} has a name of {len(names[i])} characters; "
                                  f"chosen columns need names of 1 to {MAX_COLUMN_NAME_CHARS}")
    return Columns(chosen, label, ids)


class TableOptions(NamedTuple):
    """How to choose the columns of a table: the arguments of :func:`choose_columns`."""

    label_column: str | None = None
    features: Sequence[str] | None = None
    id_column: str | None = None
    need_labels: bool = True
    n_features: int | None = None


class LabelColumn(NamedTuple):
    """A label column as read: its distinct values (k,) (text, or numbers) and each row's index
    (m,) int64 into them."""

    distinct: np.ndarray
    codes: np.ndarray

    def values(self, text: bool = False) -> np.ndarray:
        """Each row's label (m,): as text when ``text``, else numbers where every distinct text reads
        as one (float64; class labels must then be whole numbers), else text."""
        return (self.distinct.astype(str) if text else _typed(self.distinct))[self.codes]


def _typed(distinct: np.ndarray) -> np.ndarray:
    """Distinct labels, texts that are all numbers made float64."""
    if distinct.dtype.kind == "U" and all(is_number(text) for text in distinct.tolist()):
        return np.array([float(text) for text in distinct.tolist()])
    return distinct


def class_indices(labels: LabelColumn, name: str,
                  where: Callable[[int], str]) -> tuple[np.ndarray, tuple[Label, ...] | None]:
    """(y, classes) of a data set's labels, as :func:`~deltaprop.datasets.base.table_labels` makes
    them: numbers (texts that all read as numbers included) or text; ``where(i)`` names row i."""
    distinct = _typed(labels.distinct)
    if distinct.dtype.kind == "U":
        classes, rank = np.unique(distinct, return_inverse=True)
        return indexed_labels(classes, rank.reshape(-1)[labels.codes], name)
    return table_labels(distinct[labels.codes], name, where)


def indices_among(labels: LabelColumn, classes: tuple[Label, ...] | None, n_classes: int, name: str,
                  where: Callable[[int], str]) -> np.ndarray:
    """The class index (m,) int64 of each label, among ``classes`` (None: the labels are the indices
    0 .. n_classes - 1): the labels of a held-out file placed among the training data's classes.
    DataFormatError naming the first label that is not one of them."""
    values = labels.values(classes is not None and isinstance(classes[0], str))
    if classes is None and values.dtype.kind == "U":
        i, text = next((i, text) for i, text in enumerate(values.tolist()) if not is_number(text))
        raise DataFormatError(f"{where(i)} = {text!r} is text, but the classes are the numbers "
                              f"0 to {n_classes - 1}")
    return as_labels(name, values, n_classes, classes=None if classes is None else np.array(classes),
                     error=DataFormatError, where=where)


class TableRows(NamedTuple):
    """A table file read whole, rows are examples.

    Attributes:
        path: the file.
        X: the features (m, n_features), finite, in the order of ``features``.
        labels: the label column (None: none read).
        ids: the id column's cells as text (m,), or None.
        features: the names of X's columns (None for an ``.npz``, which names none).
        label_column: the label column's name (None for an ``.npz``'s ``y``, or without labels).
        label_at: names row i's label in messages (``"data.csv, line 7, column 'label'"``).
    """

    path: Path
    X: np.ndarray
    labels: LabelColumn | None
    ids: list[str] | None
    features: tuple[str, ...] | None
    label_column: str | None
    label_at: Callable[[int], str]

    @property
    def labels_name(self) -> str:
        """The labels as messages name them: ``"data.csv: column 'label'"``, ``"data.npz: y"``."""
        return f"{self.path}: " + ("y" if self.label_column is None else f"column {self.label_column!r}")


def checked_features(X: np.ndarray, dtype: np.dtype, cell: Callable[[int, int], str],
                     checked: bool = False) -> np.ndarray:
    """Features read from a file, (m, n), as ``dtype``: finite and within ±MAX_FEATURE_MAGNITUDE,
    ``cell(row, column)`` naming an entry that is not (``checked``: X is float64 and was checked
    already, so only a conversion's overflow is left to find). X itself when it is of ``dtype``."""
    if checked and X.dtype == dtype:
        return X
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is rejected below
        converted = X.astype(dtype, copy=False)
    check_finite(converted, lambda row, column: f"{cell(row, column)} = {X[row, column]} is not a finite "
                 f"{dtype.name}; features must be finite (no NaN or inf)")
    check_magnitude(converted, cell)
    return converted
