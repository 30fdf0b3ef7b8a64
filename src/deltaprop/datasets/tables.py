"""Tables of examples split by a seeded shuffle: scikit-learn's bundled digits, and your own
table file of features and labels: ``.csv`` (or ``.tsv``), ``.parquet`` or ``.npz``. A table's
columns are chosen by name (:mod:`~deltaprop.datasets.columns`); :func:`read_table` reads one whole
for a model (its rows to predict or evaluate). Their ``.npy`` header check and CSV reader also read
the inputs to predict from (:mod:`~deltaprop.datasets.inputs`)."""

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
from operator import itemgetter
from pathlib import Path
from typing import IO, NamedTuple

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
)
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
    class_indices,
    indices_among,
    is_number,
)
from deltaprop.datasets.parquet import read_parquet
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_CLASSES, MAX_CSV_BYTES, format_bytes, short_list

try:  # zipfile may use lzma; Python builds without it simply cannot read such members
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover
    _LZMAError = OSError

__all__ = ["NPY_MAGIC", "SPLIT_FRACTIONS", "TABLE_SUFFIXES", "CsvTable", "TableRows", "check_npy_header",
           "csv_rows", "is_number", "load_csv", "load_digits", "load_npz", "load_parquet", "load_table",
           "read_csv_table", "read_table", "shuffle_split", "table_rows"]

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


def shuffle_split(X: np.ndarray, y: np.ndarray, seed: int,
                  carve: tuple[bool, bool] = (True, True)) -> tuple[Split, Split, Split]:
    """Seeded shuffle, then :data:`SPLIT_FRACTIONS`: validation and test get round(0.15 m) rows,
    or none where ``carve`` (validation, test) says False (they come from files of their own)."""
    m = X.shape[0]
    n_validation, n_test = (round(m * fraction) if wanted else 0
                            for fraction, wanted in zip(SPLIT_FRACTIONS[1:], carve, strict=True))
    cuts = [m - n_validation - n_test, m - n_test]
    order = np.random.default_rng(seed).permutation(m)
    train, validation, test = (Split(X_part, y_part) for X_part, y_part in
                               zip(np.split(X[order], cuts), np.split(y[order], cuts), strict=True))
    return train, validation, test


# -- any table file -------------------------------------------------------------------------------

#: The kind of table file each suffix names (case-insensitive).
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}
#: The table files, as messages list them.
TABLE_FORMS = ".csv or .tsv (a header row naming the columns), .parquet, or .npz (arrays X and y)"

Reader = Callable[[Path, np.dtype, TableOptions], TableRows]


def _reader(path: Path) -> Reader:
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: not a table file; expected {TABLE_FORMS}")
    return {"csv": _read_csv, "parquet": read_parquet, "npz": _read_npz_table}[kind]


def load_table(path: PathLike, dtype: object = "float64", seed: int = 0, *, label_column: str | None = None,
               features: Sequence[str] | None = None, validation_data: PathLike | None = None,
               test_data: PathLike | None = None) -> Dataset:
    """A data set from a table file, by its suffix: ``.csv``/``.tsv`` (:func:`load_csv`),
    ``.parquet``/``.pq`` (:func:`load_parquet`) or ``.npz`` (:func:`load_npz`).

    ``label_column`` and ``features`` choose the columns of a CSV or Parquet table (an ``.npz``
    names none: ValueError). ``validation_data`` and ``test_data`` are table files used whole as
    those splits (the same columns chosen by name, their labels among the classes of ``path``):
    ``path`` is then split without that part, e.g. 85/15 (train/test) with ``validation_data``,
    all training with both.

    Raises ValueError for another suffix, FileNotFoundError and DataFormatError as the readers do.
    """
    path = existing_file(path)
    if _reader(path) is _read_npz_table and (label_column is not None or features is not None):
        raise ValueError(f"{path}: an .npz file holds arrays X and y, no named columns to choose; "
                         "label_column and features are for .csv and .parquet tables")
    return _load(path, _reader(path), dtype, seed, TableOptions(label_column, features),
                 validation_data, test_data)


def read_table(path: PathLike, *, features: Sequence[str] | None = None, label_column: str | None = None,
               id_column: str | None = None, need_labels: bool = False,
               n_features: int | None = None) -> TableRows:
    """A table file read whole for a model, float64, by its suffix (``.csv``, ``.tsv``,
    ``.parquet``, ``.pq``, ``.npz``): every row, none shuffled or split.

    ``features``: the feature columns by name, in the model's order (a model stores them), else
    every column but the label and id columns. ``label_column``: the labels (default ``label``,
    else ``target``): read when the table has that column; it must have it when ``need_labels``.
    ``id_column``: a column passed through as text (``TableRows.ids``). ``n_features``: the inputs
    the model takes; the features must number as many. An ``.npz`` (arrays X and y) names no
    columns: its X must have as many columns as ``features`` names, and no ``id_column`` is taken.

    Raises FileNotFoundError if ``path`` is not a file, ValueError for another suffix (or an
    ``id_column`` for an ``.npz``), DataFormatError naming the file, line or row, and column of
    anything wrong: a missing column, a text feature column, a cell that is no finite number.
    """
    path = existing_file(path)
    options = TableOptions(label_column, features, id_column, need_labels, n_features)
    return _reader(path)(path, np.dtype(np.float64), options)


def _load(path: PathLike, read: Reader, dtype: object, seed: int, options: TableOptions,
          validation_data: PathLike | None = None, test_data: PathLike | None = None) -> Dataset:
    """The data set of the table at ``path`` read by ``read``, split as :func:`load_table` says."""
    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    path = existing_file(path)
    rows = read(path, dtype, options)
    y, classes = class_indices(rows.labels, rows.labels_name, rows.label_at)  # type: ignore[arg-type]
    n_classes = int(y.max()) + 1 if classes is None else len(classes)
    train, validation, test = shuffle_split(rows.X, y, seed, (validation_data is None, test_data is None))
    if validation_data is not None:
        validation = _held_out(validation_data, rows, classes, n_classes, dtype)
    if test_data is not None:
        test = _held_out(test_data, rows, classes, n_classes, dtype)
    side = math.isqrt(rows.X.shape[1])
    image_shape = (side, side) if side * side == rows.X.shape[1] else None
    return Dataset(path.stem, train, validation, test, n_classes, image_shape, classes,
                   features=rows.features, label_column=rows.label_column)


def _held_out(file: PathLike, rows: TableRows, classes: tuple[Label, ...] | None, n_classes: int,
              dtype: np.dtype) -> Split:
    """A held-out table file, whole: the columns of ``rows`` (by name), its labels among ``classes``."""
    path = existing_file(file)
    held = _reader(path)(path, dtype, TableOptions(rows.label_column, rows.features,
                                                   n_features=rows.X.shape[1]))
    return Split(held.X, indices_among(held.labels, classes, n_classes,  # type: ignore[arg-type]
                                       held.labels_name, held.label_at))


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
    return _load(path, _read_npz_table, dtype, seed, TableOptions())


def _read_npz_table(path: Path, dtype: np.dtype, options: TableOptions) -> TableRows:
    """X (in ``dtype``, checked) and y of an ``.npz``; it names no columns, so ``options`` only
    fix how many features X must have."""
    if options.id_column is not None:
        raise ValueError(f"{path}: an .npz file holds arrays X and y, no id column "
                         f"{options.id_column!r}; give a .csv or .parquet table")
    features, labels = _read_npz(path, dtype)
    if features.ndim != 2 or 0 in features.shape:
        raise DataFormatError(
            f"{path}: X must have shape (m, n_features) with m, n_features >= 1, got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise DataFormatError(f"{path}: y must have shape ({features.shape[0]},) to match X "
                              f"{features.shape}, got {labels.shape}")
    expected = options.n_features or (None if options.features is None else len(options.features))
    if expected is not None and features.shape[1] != expected:
        raise DataFormatError(f"{path}: X has {features.shape[1]} feature columns, but {expected} are "
                              f"expected (the model's inputs)")
    X = checked_features(features, dtype, lambda row, column: f"{path}: X[{row}, {column}]")
    distinct, codes = np.unique(labels, return_inverse=True)
    return TableRows(path, X, LabelColumn(distinct, codes.reshape(-1).astype(np.int64)), None, None, None,
                     lambda i: f"{path}: y[{i}]")


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

#: Values read between two checks of the memory they need.
CHECK_EVERY = 1 << 20
#: The delimiters a table's CSV may use, found from its first lines (``csv.Sniffer``); ',' if unclear.
DELIMITERS = ",;\t|"
#: Characters of the start of a table's CSV file its delimiter is found from (``csv.Sniffer``'s
#: quote search is quadratic: 4096 characters of the worst text take about 0.1 s, 16384 about 1.5 s).
SNIFF_CHARS = 4096


def load_csv(path: PathLike, dtype: object = "float64", seed: int = 0, *, label_column: str | None = None,
             features: Sequence[str] | None = None) -> Dataset:
    """A data set from a CSV file: a header row naming the columns, then a row per example.

    The delimiter (``,`` ``;`` tab or ``|``) is found from the file's first lines. The label column
    is ``label_column``, else the column named ``label``, else ``target`` (any case); the features
    are the columns named in ``features``, else every other column. Every feature cell must be a
    finite number (UTF-8 text, blank lines skipped); labels may be any whole numbers or text (at
    most :data:`~deltaprop.limits.MAX_CLASSES` distinct ones, each at most 256 characters), made
    class indices as :func:`load_npz` does. Features are converted to ``dtype`` but NOT rescaled.
    Rows are shuffled with ``seed`` and split 70/15/15 like :func:`load_digits`; image_shape is
    (s, s) when n_features = s * s, else None. ``Dataset.features`` and ``label_column`` name the
    columns used.

    Raises FileNotFoundError if ``path`` is not a file; DataFormatError (naming the line and
    column) for an empty file, a missing column, ragged rows or non-numeric feature cells.
    """
    return _load(path, _read_csv, dtype, seed, TableOptions(label_column=label_column, features=features))


def load_parquet(path: PathLike, dtype: object = "float64", seed: int = 0, *,
                 label_column: str | None = None, features: Sequence[str] | None = None) -> Dataset:
    """A data set from a Parquet file (needs pyarrow: ``pip install 'deltaprop[parquet]'``): its
    columns chosen and its rows split as :func:`load_csv` does; features must be numeric (integer,
    float or boolean) columns without nulls, labels integer or text columns. Its footer is read
    first: a file beyond the limits is refused before any column is read
    (:func:`~deltaprop.datasets.parquet.read_parquet`)."""
    return _load(path, read_parquet, dtype, seed, TableOptions(label_column=label_column, features=features))


def _read_csv(path: Path, dtype: np.dtype, options: TableOptions) -> TableRows:
    """The columns ``options`` choose of a CSV table (delimiter sniffed), features in ``dtype``."""
    with table_rows(path) as rows:
        first = next(rows, None)
        if first is None:
            raise DataFormatError(f"{path}: empty file; expected a header row naming the columns")
        names = [name.strip() for name in first[1]]
        columns = choose_columns(f"{path}, line {first[0]}", names, **options._asdict())
        table, ids = _read_columns(path, rows, names, len(names), "no data rows after the header", columns)
    lines = table.lines

    def cell(row: int, column: int) -> str:
        return f"{path}, line {lines[row]}, {_column_name(columns.features[column], names)}"

    label = None if columns.label is None else names[columns.label]
    return TableRows(
        path, checked_features(table.features, dtype, cell, checked=True),
        None if label is None else LabelColumn(np.array(table.labels, dtype=str), table.codes), ids,
        tuple(names[i] for i in columns.features), label,
        lambda i: f"{path}, line {lines[i]}, column {label!r}")


def csv_rows(path: Path) -> contextlib.AbstractContextManager[Iterator[tuple[int, list[str]]]]:
    """The non-blank rows of a CSV file as (line number, cells), open for the ``with`` block: UTF-8
    text (a byte-order mark is skipped), comma-separated, at most :data:`MAX_CSV_BYTES`.

    Text that is not UTF-8, or a CSV syntax error met while iterating inside the block, raises
    DataFormatError naming the file (and the line).
    """
    return _rows(path, ",")


def table_rows(path: Path) -> contextlib.AbstractContextManager[Iterator[tuple[int, list[str]]]]:
    """As :func:`csv_rows`, the delimiter found from the file's first lines: one of
    :data:`DELIMITERS` (``csv.Sniffer``), else ``,``."""
    return _rows(path, None)


@contextlib.contextmanager
def _rows(path: Path, delimiter: str | None) -> Iterator[Iterator[tuple[int, list[str]]]]:
    reader = None
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DataFormatError(f"{path}: the file is {format_bytes(size)}, more than the limit of "
                              f"{format_bytes(MAX_CSV_BYTES)} for a .csv file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            if delimiter is None:
                delimiter = _delimiter(handle.read(SNIFF_CHARS))
                handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter)
            yield ((reader.line_num, row) for row in reader if row)
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 text: {error}") from None
    except csv.Error as error:
        line = reader.line_num if reader is not None else 1
        raise DataFormatError(f"{path}, line {line}: {error}") from None


def _delimiter(sample: str) -> str:
    """The delimiter of a CSV text starting with ``sample``: one of :data:`DELIMITERS`, found from
    its whole lines by ``csv.Sniffer``; ``,`` when it cannot tell (one column, say)."""
    whole = sample[:sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(whole, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


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
    cell of a column not named 'label' must be a finite number. Every million values, the values
    read so far are checked against :data:`~deltaprop.limits.MAX_DECODED_BYTES` and the memory
    available.

    Raises DataFormatError naming the line (and the column) of a bad row or cell, and saying
    ``empty`` when there are no rows.
    """
    features = [i for i in range(width) if names is None or names[i].lower() != "label"]
    return _read_columns(path, rows, names, width, empty, Columns(features, label_column, None))[0]


def _read_columns(path: Path, rows: Iterable[tuple[int, list[str]]], names: Sequence[str] | None,
                  width: int, empty: str, columns: Columns) -> tuple[CsvTable, list[str] | None]:
    """The rows of a CSV file, each of ``width`` fields: the numbers of the feature ``columns``
    (finite), the label column's texts, and the id column's texts (None without one)."""
    values, lines, codes = PackedArray("d"), PackedArray("q"), PackedArray("q")
    distinct: dict[str, int] = {}
    ids: list[str] | None = None if columns.ids is None else []
    label, positions = columns.label, columns.features
    label_name = "label" if label is None or names is None else names[label]
    take = itemgetter(*positions) if len(positions) > 1 else lambda row: (row[positions[0]],)
    for line, row in rows:
        if len(row) != width:
            problem = (f"{len(row)} fields, expected {width} as in the header" if names is not None
                       else f"{len(row)} features, but the model takes {width}")
            raise DataFormatError(f"{path}, line {line}: {problem}")
        if label is not None:
            codes.append(_label_code(path, line, row[label].strip(), distinct, label_name))
        if ids is not None:
            ids.append(row[columns.ids].strip())  # type: ignore[index]
        before = len(values)
        values.extend(_numbers(path, line, take(row), positions, names))
        if len(values) // CHECK_EVERY != before // CHECK_EVERY:
            check_decoded(f"{path}: the {len(values):,} values read so far",
                          VALUE_COPIES * values.itemsize * len(values) + ID_BYTES * len(ids or ()))
        lines.append(line)
    if not lines:
        raise DataFormatError(f"{path}: {empty}")
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(positions))

    def where(row: int, column: int) -> str:
        return f"{path}, line {lines[row]}, {_column_name(positions[column], names)}"

    check_finite(table, lambda row, column: f"{where(row, column)}: {table[row, column]} is not a "
                 "finite number")
    check_magnitude(table, where)
    return CsvTable(table, lines, list(distinct), np.frombuffer(codes, dtype=np.int64)), ids


def _column_name(column: int, names: Sequence[str] | None) -> str:
    """``column 3 ('x')`` for 0-based ``column``, or ``column 3`` in a file without a header."""
    return f"column {column + 1}" + (f" ({names[column]!r})" if names is not None else "")


def _numbers(path: Path, line: int, cells: Sequence[str], positions: Sequence[int],
             names: Sequence[str] | None) -> list[float]:
    """The numbers in ``cells`` (the row's columns at ``positions``); DataFormatError naming the line
    and the column of the first cell that is no number."""
    try:
        return [float(cell) for cell in cells]
    except ValueError:
        i = next(i for i, cell in enumerate(cells) if not is_number(cell))
        advice = "" if names is None else f"; {NOT_NUMBERS}"
        raise DataFormatError(f"{path}, line {line}, {_column_name(positions[i], names)}: "
                              f"{cells[i][:40]!r} is not a number{advice}") from None


def _label_code(path: Path, line: int, text: str, distinct: dict[str, int], name: str) -> int:
    """The index of label ``text`` among the distinct labels met so far (added when new)."""
    code = distinct.get(text)
    if code is not None:
        return code
    if len(text) > MAX_CLASS_NAME_CHARS or not text:
        raise DataFormatError(f"{path}, line {line}, column {name!r}: expected a label of 1 to "
                              f"{MAX_CLASS_NAME_CHARS} characters, got {len(text)}")
    if len(distinct) >= MAX_CLASSES:
        raise DataFormatError(f"{path}, line {line}, column {name!r}: more than {MAX_CLASSES} "
                              f"distinct labels; at most {MAX_CLASSES} classes")
    distinct[text] = len(distinct)
    return distinct[text]
