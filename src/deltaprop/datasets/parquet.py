"""Parquet tables (``.parquet``), read with pyarrow, an optional dependency
(``pip install 'deltaprop[parquet]'``).

A Parquet file ends with a footer describing its columns and row groups. :func:`read_parquet`
checks the file's size and the footer's length from the file's last 8 bytes, then has pyarrow parse
the footer, chooses the columns by name (:func:`~deltaprop.datasets.columns.choose_columns`), checks
their types, and sizes what reading them needs (their uncompressed bytes as the footer declares
them, and the float64 features) against the limits and the memory available, before any column is
read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._validation import MAX_CLASS_NAME_CHARS
from deltaprop.datasets.base import check_decoded, check_finite, check_magnitude
from deltaprop.datasets.columns import (
    ID_BYTES,
    NOT_NUMBERS,
    VALUE_COPIES,
    Columns,
    LabelColumn,
    TableOptions,
    TableRows,
    checked_features,
    choose_columns,
)
from deltaprop.errors import DataFormatError, DeltapropError
from deltaprop.limits import MAX_CLASSES, MAX_PARQUET_BYTES, MAX_PARQUET_FOOTER_BYTES, format_bytes

__all__ = ["INSTALL_HINT", "ParquetUnavailable", "read_parquet"]

INSTALL_HINT = "reading Parquet files needs pyarrow: pip install 'deltaprop[parquet]'"
MAGIC = b"PAR1"
#: What pyarrow may raise, besides its own errors, for a damaged file (names and statistics that
#: are not UTF-8 included).
_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, OverflowError)


class ParquetUnavailable(DeltapropError, ImportError):
    """pyarrow, which reads Parquet files, is not installed; the message says how to install it."""


def _pyarrow() -> tuple[Any, Any, Any]:
    """pyarrow, pyarrow.compute and pyarrow.parquet, imported now; ParquetUnavailable without them."""
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError:
        raise ParquetUnavailable(INSTALL_HINT) from None
    return pyarrow, pyarrow.compute, pyarrow.parquet


def check_footer(path: Path) -> None:
    """The file is at most :data:`MAX_PARQUET_BYTES`, starts and ends with Parquet's mark, and its
    footer (whose length its last 8 bytes give) fits in it and in :data:`MAX_PARQUET_FOOTER_BYTES`;
    DataFormatError otherwise."""
    size = path.stat().st_size
    if size > MAX_PARQUET_BYTES:
        raise DataFormatError(f"{path}: the file is {format_bytes(size)}, more than the limit of "
                              f"{format_bytes(MAX_PARQUET_BYTES)} for a .parquet file")
    with open(path, "rb") as file:
        head = file.read(4)
        file.seek(max(size - 8, 0))
        tail = file.read(8)
    if size < 12 or head != MAGIC or tail[4:] != MAGIC:
        raise DataFormatError(f"{path}: not a Parquet file (it must start and end with {MAGIC.decode()}; "
                              "encrypted files are not read)")
    footer = int.from_bytes(tail[:4], "little")
    if footer > min(size - 12, MAX_PARQUET_FOOTER_BYTES):
        raise DataFormatError(f"{path}: its footer claims {format_bytes(footer)}, more than the file holds "
                              f"or the limit of {format_bytes(MAX_PARQUET_FOOTER_BYTES)}")


def read_parquet(path: Path, dtype: np.dtype, options: TableOptions) -> TableRows:
    """The columns ``options`` choose of a Parquet file, every row: features (m, n) in ``dtype``,
    finite; labels from an integer, float (whole numbers) or text column; ids as text.

    Raises ParquetUnavailable without pyarrow, DataFormatError naming the file (and the row and
    column) for a file that is no Parquet, beyond the limits, a missing column, a feature column
    that is not numeric, nulls, or values that are not finite.
    """
    check_footer(path)
    pa, pc, pq = _pyarrow()
    try:
        file = pq.ParquetFile(path)
        names = [str(name) for name in file.schema_arrow.names]
        columns = choose_columns(str(path), names, **options._asdict(), ignored=_pandas_index(file))
        _check_types(pa, path, file.schema_arrow, names, columns)
        _check_size(path, file.metadata, columns)
        chosen = sorted({*columns.features, *(i for i in (columns.label, columns.ids) if i is not None)})
        table = file.read(columns=[names[i] for i in chosen], use_threads=False)
        return _rows(pa, pc, path, dtype, table, names, columns)
    except DataFormatError:
        raise
    except _READ_ERRORS + (pa.ArrowException,) as error:
        raise DataFormatError(f"{path}: not a readable Parquet file: {str(error)[:200]}") from None


def _pandas_index(file: Any) -> list[str]:
    """The columns holding a pandas index (``__index_level_0__``), which pandas' ``to_parquet``
    stores beside the data: never features by default."""
    try:
        stored = (file.schema_arrow.pandas_metadata or {}).get("index_columns", [])
    except (ValueError, TypeError, AttributeError):  # metadata that is not pandas' JSON
        return []
    return [name for name in stored if isinstance(name, str)] if isinstance(stored, list) else []


def _kind(pa: Any, kind: Any) -> str:
    """'number', 'bool', 'text' or 'other': what a column of arrow type ``kind`` holds."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "bool"
    return "text" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else "other"


def _check_types(pa: Any, path: Path, schema: Any, names: list[str], columns: Columns) -> None:
    """Features are numbers (or booleans); labels numbers or text."""
    for i in columns.features:
        if _kind(pa, schema.field(i).type) not in ("number", "bool"):
            raise DataFormatError(f"{path}: column {names[i]!r} holds {schema.field(i).type} values; "
                                  f"{NOT_NUMBERS}")
    if columns.label is not None and _kind(pa, schema.field(columns.label).type) not in ("number", "text"):
        raise DataFormatError(f"{path}: the label column {names[columns.label]!r} holds "
                              f"{schema.field(columns.label).type} values; class labels are integers or text")


def _check_size(path: Path, metadata: Any, columns: Columns) -> None:
    """What reading the chosen columns needs, from the footer: the row groups' uncompressed bytes
    (of every column: a column chunk's own metadata is not read, since pyarrow 26 aborts the
    process on some damaged ones), the features as float64 (and their copies), the labels'
    indices and the ids as text."""
    stored = sum(metadata.row_group(group).total_byte_size for group in range(metadata.num_row_groups))
    rows = metadata.num_rows
    per_row = VALUE_COPIES * 8 * len(columns.features) + 16 + (ID_BYTES if columns.ids is not None else 0)
    check_decoded(f"{path}: {rows:,} rows ({format_bytes(stored)} uncompressed) as "
                  f"{len(columns.features)} float64 features", stored + rows * per_row)
    if rows == 0:
        raise DataFormatError(f"{path}: no rows")


def _no_nulls(pc: Any, path: Path, column: Any, name: str) -> None:
    if column.null_count:
        row = pc.index(pc.is_null(column), True).as_py()
        raise DataFormatError(f"{path}, row {row}, column {name!r}: a missing value (null); expected a "
                              "value in every row")


def _rows(pa: Any, pc: Any, path: Path, dtype: np.dtype, table: Any, names: list[str],
          columns: Columns) -> TableRows:
    """The TableRows of the columns read."""
    X = np.empty((table.num_rows, len(columns.features)))
    for j, i in enumerate(columns.features):
        column = table.column(names[i])
        _no_nulls(pc, path, column, names[i])
        X[:, j] = column.to_numpy()

    def cell(row: int, column: int) -> str:
        return f"{path}, row {row}, column {names[columns.features[column]]!r}"

    check_finite(X, lambda row, column: f"{cell(row, column)}: {X[row, column]} is not a finite number")
    check_magnitude(X, cell)
    label = None if columns.label is None else names[columns.label]
    ids = None
    if columns.ids is not None:
        ids = [text or "" for text in pc.cast(table.column(names[columns.ids]), pa.string()).to_pylist()]
    return TableRows(path, checked_features(X, dtype, cell, checked=True),
                     None if label is None else _labels(pa, pc, path, table.column(label), label),
                     ids, tuple(names[i] for i in columns.features), label,
                     lambda i: f"{path}, row {i}, column {label!r}")


def _labels(pa: Any, pc: Any, path: Path, column: Any, name: str) -> LabelColumn:
    """A label column: numbers as they are, text by its distinct values (at most MAX_CLASSES, each of
    1 to MAX_CLASS_NAME_CHARS characters)."""
    _no_nulls(pc, path, column, name)
    if _kind(pa, column.type) == "number":
        distinct, codes = np.unique(column.to_numpy(), return_inverse=True)
        return LabelColumn(distinct, codes.reshape(-1).astype(np.int64))
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    encoded = column.combine_chunks().dictionary_encode()
    distinct = encoded.dictionary
    if len(distinct) > MAX_CLASSES:
        raise DataFormatError(f"{path}, column {name!r}: {len(distinct):,} distinct labels; at most "
                              f"{MAX_CLASSES} classes")
    lengths = pc.utf8_length(distinct)
    if len(distinct) and not 1 <= pc.min(lengths).as_py() <= pc.max(lengths).as_py() <= MAX_CLASS_NAME_CHARS:
        raise DataFormatError(f"{path}, column {name!r}: expected labels of 1 to {MAX_CLASS_NAME_CHARS} "
                              f"characters, found some of {pc.min(lengths).as_py()} to "
                              f"{pc.max(lengths).as_py()}")
    return LabelColumn(np.array(distinct.to_pylist(), dtype=str), encoded.indices.to_numpy().astype(np.int64))
