"""Reading CSV files of numbers, shared by :func:`~deltaprop.datasets.load_csv` (a labelled table)
and :func:`~deltaprop.datasets.read_csv_rows` (inputs to predict): UTF-8 text (a byte-order mark is
skipped), comma-separated, blank lines skipped, every error naming the file, line and column."""

from __future__ import annotations

import contextlib
import csv
from array import array as PackedArray
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from deltaprop._validation import first_non_finite
from deltaprop.datasets.base import check_decoded
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_CSV_BYTES, format_bytes

__all__ = ["PackedArray", "add_row", "csv_rows", "finite_table", "is_number", "parse_row"]

#: Copies of the values a CSV reader may make (the packed values, the converted and the shuffled
#: table), counted when checking the memory the values read so far need.
VALUE_COPIES = 3
#: Values read between two checks of the memory they need.
CHECK_EVERY = 1 << 20


@contextlib.contextmanager
def csv_rows(path: Path) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """The non-blank rows of a CSV file as (line number, cells), open for the ``with`` block.

    Text that is not UTF-8, or a CSV syntax error met while iterating inside the block, raises
    DataFormatError naming the file (and the line).
    """
    reader = None
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DataFormatError(f"{path}: the file is {format_bytes(size)}, more than the limit of "
                              f"{format_bytes(MAX_CSV_BYTES)} for a .csv file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            yield ((reader.line_num, row) for row in reader if row)
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 text: {error}") from None
    except csv.Error as error:
        line = reader.line_num if reader is not None else 1
        raise DataFormatError(f"{path}, line {line}: {error}") from None


def is_number(cell: str) -> bool:
    """Whether ``float(cell)`` reads ``cell`` (so "nan" and "inf" count: finiteness is separate)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def column_name(column: int, names: Sequence[str] | None) -> str:
    """``column 3 ('x')`` for 0-based ``column``, or ``column 3`` in a file without a header."""
    return f"column {column + 1}" + (f" ({names[column]!r})" if names is not None else "")


def parse_row(path: Path, line: int, row: list[str], names: Sequence[str] | None = None) -> list[float]:
    """The numbers in ``row``, which must have as many fields as ``names`` (the header) if given.

    Raises DataFormatError naming the line (and the column of the first cell that is no number).
    """
    if names is not None and len(row) != len(names):
        raise DataFormatError(
            f"{path}, line {line}: {len(row)} fields, expected {len(names)} as in the header"
        )
    try:
        return [float(cell) for cell in row]
    except ValueError:
        column = next(i for i, cell in enumerate(row) if not is_number(cell))
        raise DataFormatError(
            f"{path}, line {line}, {column_name(column, names)}: {row[column][:40]!r} is not a number"
        ) from None


def add_row(path: Path, values: PackedArray, numbers: list[float]) -> None:
    """Append a row's numbers to ``values``; every million values, check that the values read so far
    stay within :data:`~deltaprop.limits.MAX_DECODED_BYTES` and the memory available."""
    before = len(values)
    values.extend(numbers)
    if len(values) // CHECK_EVERY != before // CHECK_EVERY:
        check_decoded(f"{path}: the {len(values):,} values read so far",
                      VALUE_COPIES * values.itemsize * len(values))


def finite_table(
    path: Path, values: PackedArray, lines: PackedArray, columns: int, names: Sequence[str] | None = None
) -> np.ndarray:
    """``values`` as a float64 table (len(lines), columns); DataFormatError for a NaN or inf cell."""
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), columns)
    bad = first_non_finite(table)
    if bad is not None:
        row, column = bad
        raise DataFormatError(
            f"{path}, line {lines[row]}, {column_name(column, names)}: "
            f"{table[row, column]} is not a finite number"
        )
    return table
