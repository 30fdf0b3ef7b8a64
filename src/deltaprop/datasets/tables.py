"""Tables of examples split by a seeded shuffle: scikit-learn's bundled digits, and your own
``.npz`` or ``.csv`` file of features and labels."""

from __future__ import annotations

import gzip
import importlib.util
import math
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._validation import (
    MAX_CLASS_NAME_CHARS,
    check_dtype,
    check_positive_int,
    first_non_finite,
)
from deltaprop.datasets.base import (
    Dataset,
    Label,
    PathLike,
    Split,
    check_decoded,
    existing_file,
    indexed_labels,
    table_labels,
)
from deltaprop.datasets.csvrows import (
    PackedArray,
    add_row,
    csv_rows,
    finite_table,
    is_number,
    parse_row,
)
from deltaprop.datasets.npyformat import NPY_MAGIC, check_npy_header
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_CLASSES, short_list

try:  # zipfile may use lzma; Python builds without it simply cannot read such members
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover
    _LZMAError = OSError

__all__ = ["SPLIT_FRACTIONS", "load_csv", "load_digits", "load_npz", "shuffle_split"]

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
    n_validation = round(m * SPLIT_FRACTIONS[1])
    n_test = round(m * SPLIT_FRACTIONS[2])
    n_train = m - n_validation - n_test
    order = np.random.default_rng(seed).permutation(m)
    X, y = X[order], y[order]
    cut = n_train + n_validation
    return (
        Split(X[:n_train], y[:n_train]),
        Split(X[n_train:cut], y[n_train:cut]),
        Split(X[cut:], y[cut:]),
    )


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
    bad = first_non_finite(X)
    if bad is not None:
        row, column = bad
        raise DataFormatError(
            f"{path}: X[{row}, {column}] = {features[row, column]} is not a finite "
            f"{dtype.name}; features must be finite (no NaN or inf)"
        )
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


_ZIP_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
    _LZMAError,
    NotImplementedError,  # unsupported zip compression method
    RuntimeError,  # encrypted zip member
    OverflowError,
    struct.error,
)


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


def _npz_arrays(archive: object, path: Path, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """X and y of an open archive, each checked by :func:`_npz_header`, and what loading them and
    converting X to ``dtype`` needs checked against the limits and the memory available, before
    any data are decompressed."""
    if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover - magic checked
        raise DataFormatError(f"{path}: not an .npz archive")
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


# -- .csv ----------------------------------------------------------------------------------------


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
    features, lines, texts, codes = _read_csv(path)
    where: Callable[[int], str] = lambda i: f"{path}, line {lines[i]}, column 'label'"  # noqa: E731
    codes_array = np.frombuffer(codes, dtype=np.int64)
    if all(is_number(text) for text in texts):
        labels: Any = np.array([float(text) for text in texts])[codes_array]
    else:  # text labels: indices into their sorted distinct values
        order = np.argsort(np.array(texts))
        rank = np.empty(len(texts), np.int64)
        rank[order] = np.arange(len(texts))
        labels = indexed_labels(np.array(texts)[order], rank[codes_array], f"{path}: labels")
    return _table_dataset(path, features, labels, dtype, seed, where)


def _read_csv(path: Path) -> tuple[np.ndarray, PackedArray, list[str], PackedArray]:
    """The feature cells as float64 (rows, features), each row's line number, the distinct label
    texts (stripped) and each row's index into them."""
    values, lines, codes = PackedArray("d"), PackedArray("q"), PackedArray("q")
    distinct: dict[str, int] = {}
    with csv_rows(path) as rows:
        first = next(rows, None)
        if first is None:
            raise DataFormatError(f"{path}: empty file; expected a header row with a 'label' column")
        header_line, header = first
        names = [name.strip() for name in header]
        label_column = _label_column(path, header_line, names)
        for line, row in rows:
            if len(row) != len(names):
                raise DataFormatError(
                    f"{path}, line {line}: {len(row)} fields, expected {len(names)} as in the header")
            codes.append(_label_code(path, line, row[label_column].strip(), distinct))
            row[label_column] = "0"  # a number in its place: messages keep the file's columns
            add_row(path, values, parse_row(path, line, row, names))
            lines.append(line)
    if not lines:
        raise DataFormatError(f"{path}: no data rows after the header")
    table = finite_table(path, values, lines, len(names), names)
    return np.delete(table, label_column, axis=1), lines, list(distinct), codes


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


def _label_column(path: Path, line: int, names: list[str]) -> int:
    found = [i for i, name in enumerate(names) if name.lower() == "label"]
    if len(found) != 1:
        problem = "no 'label' column" if not found else f"{len(found)} 'label' columns"
        raise DataFormatError(f"{path}, line {line}: header has {problem}: {short_list(names)}")
    if len(names) < 2:
        raise DataFormatError(f"{path}, line {line}: header has no feature columns besides 'label'")
    return found[0]
