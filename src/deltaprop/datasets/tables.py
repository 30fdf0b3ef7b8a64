"""Tables of examples split by a seeded shuffle: scikit-learn's bundled digits, and your own
``.npz`` or ``.csv`` file of features and labels. Their ``.npy`` header check and CSV reader also
read the inputs to predict from (:mod:`~deltaprop.datasets.inputs`)."""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib.util
import math
import struct
import tokenize
import zipfile
import zlib
from array import array as PackedArray
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from deltaprop._validation import MAX_CLASS_NAME_CHARS, check_dtype, check_positive_int
from deltaprop.datasets.base import (
    MAX_DATA_BYTES,
    Dataset,
    Label,
    PathLike,
    Split,
    check_decoded,
    check_finite,
    check_magnitude,
    existing_file,
    indexed_labels,
    table_labels,
)
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_CLASSES, MAX_CSV_BYTES, format_bytes, short_list

try:  # zipfile may use lzma; Python builds without it simply cannot read such members
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover
    _LZMAError = OSError

__all__ = ["NPY_MAGIC", "SPLIT_FRACTIONS", "CsvTable", "check_npy_header", "csv_rows", "is_number",
           "load_csv", "load_digits", "load_npz", "read_csv_table", "shuffle_split"]

#: Fractions of the seeded shuffle-split used for digits, .npz and .csv: train, validation, test.
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)


def load_digits(dtype: object = "float64", seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1797 images, no download.

    Pixels 0..16 are divided by 16, so X lies in [0, 1]; image_shape is (8, 8), n_classes 10.
    The rows are shuffled with ``seed`` and split 70/15/15: train (1257, 64), validation (270, 64),
    test (270, 64). The same seed gives the same split on every call.
    """
    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    table = _bundled_digits()
    features = table[:, :-1].astype(dtype)
    features /= 16
    labels = table[:, -1].astype(np.int64)
    train, validation, test = shuffle_split(features, labels, seed)
    return Dataset("digits", train, validation, test, n_classes=10, image_shape=(8, 8))


def _bundled_digits() -> np.ndarray:
    """scikit-learn's ``digits.csv.gz`` (1797 rows: 64 pixels 0..16, then the label), read directly:
    importing ``sklearn.datasets`` costs about 0.9 s (it pulls in scipy.stats and pandas), more than
    the default ``deltaprop train`` spends training. Falls back to scikit-learn's loader if the
    file moved."""
    spec = importlib.util.find_spec("sklearn")
    folders = spec.submodule_search_locations if spec else None
    path = Path(folders[0]) / "datasets" / "data" / "digits.csv.gz" if folders else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits as sklearn_load_digits

        bunch = sklearn_load_digits()
        return np.column_stack([bunch.data, bunch.target])
    with gzip.open(path, "rt") as file:
        return np.loadtxt(file, delimiter=",")


def shuffle_split(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[Split, Split, Split]:
    """Seeded shuffle, then :data:`SPLIT_FRACTIONS`: validation and test get round(0.15 m) rows."""
    m = X.shape[0]
    n_test = round(m * SPLIT_FRACTIONS[2])
    cuts = [m - round(m * SPLIT_FRACTIONS[1]) - n_test, m - n_test]
    order = np.random.default_rng(seed).permutation(m)
    train, validation, test = (Split(X_part, y_part) for X_part, y_part in
                               zip(np.split(X[order], cuts), np.split(y[order], cuts), strict=True))
    return train, validation, test


def _table_dataset(
    path: Path,
    features: np.ndarray,
    labels: np.ndarray | tuple[np.ndarray, tuple[Label, ...] | None],
    dtype: np.dtype,
    seed: int,
    where: Callable[[int], str],
) -> Dataset:
    """Check an (X, y) table read from ``path``, then shuffle-split it."""
    if features.ndim != 2 or 0 in features.shape:
        raise DataFormatError(
            f"{path}: X must have shape (m, n_features) with m, n_features >= 1, got {features.shape}"
        )
    shape = labels[0].shape if isinstance(labels, tuple) else labels.shape
    if len(shape) != 1 or shape[0] != features.shape[0]:
        raise DataFormatError(
            f"{path}: y must have shape ({features.shape[0]},) to match X {features.shape}, "
            f"got {shape}"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is rejected below
        X = features.astype(dtype)
    check_finite(X, lambda row, column: f"{path}: X[{row}, {column}] = {features[row, column]} is not a "
                 f"finite {dtype.name}; features must be finite (no NaN or inf)")
    check_magnitude(X, lambda row, column: f"{path}: X[{row}, {column}]")
    if isinstance(labels, tuple):  # (indices, classes) already made by the .csv reader
        y, classes = labels
    else:
        y, classes = table_labels(labels, f"{path}: y", where)
    side = math.isqrt(X.shape[1])
    image_shape = (side, side) if side * side == X.shape[1] else None
    train, validation, test = shuffle_split(X, y, seed)
    n_classes = int(y.max()) + 1 if classes is None else len(classes)
    return Dataset(path.stem, train, validation, test, n_classes, image_shape, classes)


# -- .npz ----------------------------------------------------------------------------------------


def load_npz(path: PathLike, dtype: object = "float64", seed: int = 0) -> Dataset:
    """A data set from an ``.npz`` archive with arrays ``X`` (m, n_features) and ``y`` (m,).

    Read with ``np.load(path, allow_pickle=False)``: object arrays are refused. X must be numeric
    and finite and is converted to ``dtype`` but NOT rescaled; y holds the class labels: any
    integers (whole-number floats are accepted) or strings, at most
    :data:`~deltaprop.limits.MAX_CLASSES` distinct ones. Labels 0 .. k - 1 stay as they are
    (classes None); others become indices 0 .. k - 1 of ``Dataset.classes``, their sorted distinct
    values; n_classes = k. Rows are shuffled with ``seed`` and split 70/15/15 like
    :func:`load_digits`. image_shape is (s, s) when n_features = s * s, else None.

    Raises FileNotFoundError if ``path`` is not a file, DataFormatError for anything malformed.
    """
    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    path = existing_file(path)
    features, labels = _read_npz(path, dtype)
    return _table_dataset(path, features, labels, dtype, seed, lambda i: f"{path}: y[{i}]")


#: What reading a zip archive may raise; NotImplementedError: an unsupported compression method,
#: RuntimeError: an encrypted member.
_ZIP_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, _LZMAError,
               NotImplementedError, RuntimeError, OverflowError, struct.error)


def _read_npz(path: Path, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as handle:  # ours to close even when numpy fails to open the archive
        magic = handle.read(6)
        if magic.startswith(NPY_MAGIC):
            raise DataFormatError(
                f"{path}: holds a single .npy array; expected an .npz archive with arrays X and y "
                "(np.savez(path, X=X, y=y))"
            )
        if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise DataFormatError(f"{path}: not an .npz (zip) archive")
        handle.seek(0)
        try:
            with np.load(handle, allow_pickle=False) as archive:
                return _npz_arrays(archive, path, dtype)
        except DataFormatError:
            raise
        except _ZIP_ERRORS as error:
            raise DataFormatError(f"{path}: not a readable .npz archive: {error}") from None


def _npz_arrays(archive: np.lib.npyio.NpzFile, path: Path, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """X and y of an open archive, each checked by :func:`_npz_header`, and what loading them and
    converting X to ``dtype`` needs checked against the limits and the memory available, before
    any data are decompressed."""
    missing = [key for key in ("X", "y") if key not in archive.files]
    if missing:
        raise DataFormatError(
            f"{path}: no array named {' or '.join(missing)}; found {short_list(archive.files)}; "
            "expected X (m, n_features) and y (m,)"
        )
    (x_shape, x_type), (y_shape, y_type) = (_npz_header(archive, key, path) for key in ("X", "y"))
    x_count, y_count = math.prod(x_shape), math.prod(y_shape)
    # stored arrays, X converted and shuffled (two copies in dtype), y as int64 (two copies)
    check_decoded(f"{path}: arrays X {x_shape} and y {y_shape} as {dtype.name}",
                  x_count * (x_type.itemsize + 2 * dtype.itemsize)
                  + y_count * (y_type.itemsize * (1 + (y_type.kind == "U")) + 24))
    return np.asarray(archive["X"]), np.asarray(archive["y"])


def _npz_header(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of ``archive[key]`` from its .npy header: numeric, as long as it claims
    (the zip directory's uncompressed size; zipfile stops decompressing there)."""
    member = f"{key}.npy"
    names = archive.zip.namelist()
    if member not in names or key in names:
        raise DataFormatError(f"{path}: member {key!r} is not a .npy array")
    stored = archive.zip.getinfo(member).file_size
    with archive.zip.open(member) as stream:
        return check_npy_header(stream, stored, f"{path}: array {key}", "biuf" if key == "X" else "biufU")


NPY_MAGIC = b"\x93NUMPY"
#: What numpy's header parsing (``ast.literal_eval``, then ``tokenize`` for old headers) may raise.
_HEADER_ERRORS = (ValueError, TypeError, KeyError, SyntaxError, tokenize.TokenError, RecursionError,
                  OverflowError, EOFError, struct.error)


def check_npy_header(stream: IO[bytes], stored: int, what: str,
                     kinds: str = "biuf") -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` header at the start of ``stream`` declares, once checked.

    ``stored`` is the size of the whole ``.npy`` data (header included) and ``what`` names the array
    in messages (``"data.npz: array X"``). Raises DataFormatError for an unsupported version,
    Python objects, a dtype that is not bool, integer or float, or a data size other than the header
    implies, a shape beyond :data:`MAX_DATA_BYTES` (zero dimensions ignored, so that (10**12, 0) is
    refused too) and for a header that cannot be parsed. ``kinds`` are the numpy dtype kinds
    allowed (``"biufU"`` lets labels be strings).
    """
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise DataFormatError(f"{what} has unsupported .npy version {version}")
    except DataFormatError:
        raise
    except _HEADER_ERRORS as error:  # numpy parses the header text as a Python literal
        raise DataFormatError(f"{what} has an unreadable .npy header: {str(error)[:200]}") from None
    header_size = stream.tell()
    if dtype.hasobject:
        raise DataFormatError(
            f"{what} holds Python objects (pickled data), which are not loaded; store numbers"
        )
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        wanted = "numbers" if "U" not in kinds else "numbers or strings"
        raise DataFormatError(f"{what} must hold {wanted}, got dtype {dtype}")
    extent = math.prod(dim for dim in shape if dim) * dtype.itemsize  # (10**12, 0) is absurd too
    if extent > MAX_DATA_BYTES:
        raise DataFormatError(
            f"{what} declares shape {shape} of {dtype} = {extent} bytes (ignoring zero dims), "
            f"more than the limit of {MAX_DATA_BYTES}"
        )
    declared = math.prod(shape) * dtype.itemsize
    if declared != stored - header_size:
        raise DataFormatError(
            f"{what} declares shape {shape} of {dtype} = {declared} bytes, "
            f"but holds {stored - header_size} bytes (limit {MAX_DATA_BYTES})"
        )
    return shape, dtype


# -- .csv ----------------------------------------------------------------------------------------

#: Copies of the values a CSV reader may make (the packed values, the converted and the shuffled
#: table), counted when checking the memory the values read so far need.
VALUE_COPIES = 3
#: Values read between two checks of the memory they need.
CHECK_EVERY = 1 << 20


def load_csv(path: PathLike, dtype: object = "float64", seed: int = 0) -> Dataset:
    """A data set from a ``.csv`` file: a header row with a ``label`` column, the rest features.

    Every feature cell must be a finite number (UTF-8 text, comma-separated, blank lines skipped);
    labels may be any whole numbers or text (at most :data:`~deltaprop.limits.MAX_CLASSES` distinct
    ones, each at most 256 characters), made class indices as :func:`load_npz` does. Features
    are converted to ``dtype`` but NOT rescaled. Rows are shuffled with ``seed`` and split 70/15/15
    like :func:`load_digits`; image_shape is (s, s) when n_features = s * s, else None.

    Raises FileNotFoundError if ``path`` is not a file; DataFormatError (naming the line and
    column) for an empty file, a missing ``label`` column, ragged rows or non-numeric cells.
    """
    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    path = existing_file(path)
    with csv_rows(path) as rows:
        first = next(rows, None)
        if first is None:
            raise DataFormatError(f"{path}: empty file; expected a header row with a 'label' column")
        names = [name.strip() for name in first[1]]
        table = read_csv_table(path, rows, names, len(names), "no data rows after the header",
                               label_column=_label_column(path, first[0], names))
    where: Callable[[int], str] = lambda i: f"{path}, line {table.lines[i]}, column 'label'"  # noqa: E731
    if all(is_number(text) for text in table.labels):
        labels: Any = np.array([float(text) for text in table.labels])[table.codes]
    else:  # text labels: indices into their sorted distinct values
        classes, rank = np.unique(np.array(table.labels), return_inverse=True)
        labels = indexed_labels(classes, rank[table.codes], f"{path}: labels")
    return _table_dataset(path, table.features, labels, dtype, seed, where)


def _label_column(path: Path, line: int, names: list[str]) -> int:
    found = [i for i, name in enumerate(names) if name.lower() == "label"]
    if len(found) != 1:
        problem = "no 'label' column" if not found else f"{len(found)} 'label' columns"
        raise DataFormatError(f"{path}, line {line}: header has {problem}: {short_list(names)}")
    if len(names) < 2:
        raise DataFormatError(f"{path}, line {line}: header has no feature columns besides 'label'")
    return found[0]


@contextlib.contextmanager
def csv_rows(path: Path) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """The non-blank rows of a CSV file as (line number, cells), open for the ``with`` block: UTF-8
    text (a byte-order mark is skipped), comma-separated, at most :data:`MAX_CSV_BYTES`.

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


class CsvTable(NamedTuple):
    """What :func:`read_csv_table` read: the numbers, float64 (rows, columns) without the columns
    named 'label'; each row's line number; the distinct texts of the label column read as text, and
    each row's index into them (none without one)."""

    features: np.ndarray
    lines: PackedArray
    labels: list[str]
    codes: np.ndarray


def read_csv_table(path: Path, rows: Iterable[tuple[int, list[str]]], names: Sequence[str] | None,
                   width: int, empty: str, label_column: int | None = None) -> CsvTable:
    """The rows of a CSV file (from :func:`csv_rows`), each of ``width`` fields: as many as the
    header ``names``, if given. The cells of ``label_column`` (if given) are labels (text), every
    other cell must be a finite number. Every million values, the values read so far are checked
    against :data:`~deltaprop.limits.MAX_DECODED_BYTES` and the memory available.

    Raises DataFormatError naming the line (and the column) of a bad row or cell, and saying
    ``empty`` when there are no rows.
    """
    values, lines, codes = PackedArray("d"), PackedArray("q"), PackedArray("q")
    distinct: dict[str, int] = {}
    for line, row in rows:
        if len(row) != width:
            problem = (f"{len(row)} fields, expected {width} as in the header" if names is not None
                       else f"{len(row)} features, but the model takes {width}")
            raise DataFormatError(f"{path}, line {line}: {problem}")
        if label_column is not None:
            codes.append(_label_code(path, line, row[label_column].strip(), distinct))
            row[label_column] = "0"  # a number in its place: messages keep the file's columns
        before = len(values)
        values.extend(_numbers(path, line, row, names))
        if len(values) // CHECK_EVERY != before // CHECK_EVERY:
            check_decoded(f"{path}: the {len(values):,} values read so far",
                          VALUE_COPIES * values.itemsize * len(values))
        lines.append(line)
    if not lines:
        raise DataFormatError(f"{path}: {empty}")
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), width)
    check_finite(table, lambda row, column: f"{path}, line {lines[row]}, {_column_name(column, names)}: "
                 f"{table[row, column]} is not a finite number")
    dropped = [i for i, name in enumerate(names or ()) if name.lower() == "label"]
    features = np.delete(table, dropped, axis=1) if dropped else table
    kept = [i for i in range(width) if i not in dropped]
    check_magnitude(features, lambda row, column: f"{path}, line {lines[row]}, "
                    f"{_column_name(kept[column], names)}")
    return CsvTable(features, lines, list(distinct), np.frombuffer(codes, dtype=np.int64))


def is_number(cell: str) -> bool:
    """Whether ``float(cell)`` reads ``cell`` (so "nan" and "inf" count: finiteness is separate)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column_name(column: int, names: Sequence[str] | None) -> str:
    """``column 3 ('x')`` for 0-based ``column``, or ``column 3`` in a file without a header."""
    return f"column {column + 1}" + (f" ({names[column]!r})" if names is not None else "")


def _numbers(path: Path, line: int, row: list[str], names: Sequence[str] | None) -> list[float]:
    """The numbers in ``row``; DataFormatError naming the line and the column of the first cell that
    is no number."""
    try:
        return [float(cell) for cell in row]
    except ValueError:
        column = next(i for i, cell in enumerate(row) if not is_number(cell))
        raise DataFormatError(f"{path}, line {line}, {_column_name(column, names)}: "
                              f"{row[column][:40]!r} is not a number") from None


def _label_code(path: Path, line: int, text: str, distinct: dict[str, int]) -> int:
    """The index of label ``text`` among the distinct labels met so far (added when new)."""
    code = distinct.get(text)
    if code is not None:
        return code
    if len(text) > MAX_CLASS_NAME_CHARS or not text:
        raise DataFormatError(f"{path}, line {line}, column 'label': expected a label of 1 to "
                              f"{MAX_CLASS_NAME_CHARS} characters, got {len(text)}")
    if len(distinct) >= MAX_CLASSES:
        raise DataFormatError(f"{path}, line {line}, column 'label': more than {MAX_CLASSES} "
                              f"distinct labels; at most {MAX_CLASSES} classes")
    distinct[text] = len(distinct)
    return distinct[text]
