"""Getting data into (X, y) arrays.

Every loader returns a :class:`Dataset` of three :class:`Split` s (train, validation, test). In each
split rows are examples: ``X`` has shape (m, n_features) and the requested float dtype ("float32" or
"float64"), ``y`` has shape (m,) and dtype int64 and holds class labels 0 .. n_classes - 1.

Sources:

* :func:`load_digits` -- scikit-learn's bundled 8x8 digits; the default, needs no download.
* :func:`load_mnist` -- MNIST from a local folder, downloaded (and md5-checked) when missing.
* :func:`load_idx_dir` -- any folder laid out like MNIST (the same four IDX file names).
* :func:`load_npz` / :func:`load_csv` -- your own table of features and labels.
* :func:`load_dataset` -- one of the above from a command-line spec string.
* :func:`read_idx` / :func:`write_idx` -- the IDX array format MNIST ships in.

Errors, the same everywhere: a missing file or folder raises ``FileNotFoundError`` naming the path;
a malformed file (truncated, lying header, bad cell, corrupt gzip or zip) raises
:class:`~deltaprop.errors.DataFormatError` naming the file; a failed download raises
:class:`~deltaprop.errors.DownloadError` saying which files are missing and where to put them; bad
arguments raise ``ValueError`` or ``TypeError``. Every read is bounded: no header can make a loader
allocate more than about :data:`MAX_DATA_BYTES` bytes for one array.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import math
import os
import struct
import urllib.request
import zipfile
import zlib
from array import array as _PackedArray
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from deltaprop._files import atomic_write
from deltaprop._validation import check_dtype, check_number, check_positive_int
from deltaprop.errors import DataFormatError, DownloadError

try:  # zipfile may use lzma; Python builds without it simply cannot read such members
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover
    _LZMAError = OSError

__all__ = [
    "DEFAULT_MIRRORS",
    "IDX_FILES",
    "MAX_CLASSES",
    "MAX_DATA_BYTES",
    "MNIST_MD5",
    "Dataset",
    "Split",
    "default_data_dir",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_idx_dir",
    "load_mnist",
    "load_npz",
    "read_idx",
    "write_idx",
]

PathLike = str | os.PathLike[str]

#: Largest array (in bytes of data) that any file may declare; larger headers are rejected unread.
MAX_DATA_BYTES = 2**31
#: Largest number of classes a label file may imply (labels must be < this).
MAX_CLASSES = 10_000
#: Largest compressed download accepted from a mirror.
MAX_DOWNLOAD_BYTES = 2**28

IDX_MAX_RANK = 4
#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20

#: The four files of an MNIST-style folder (each may also end in ``.gz``): train images, train
#: labels, test images, test labels.
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
#: md5 of the UNCOMPRESSED content of each MNIST file, keyed by the uncompressed file name.
MNIST_MD5: Mapping[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
#: Public mirrors of the gzip-compressed MNIST files, tried in order.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: Fractions of the seeded shuffle-split used for digits, .npz and .csv: train, validation, test.
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)


# ---------------------------------------------------------------------------------------------
# Containers


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


# ---------------------------------------------------------------------------------------------
# IDX files


def read_idx(path: PathLike) -> np.ndarray:
    """The array stored in an IDX file (raw, or gzip-compressed: detected by magic bytes 1f 8b).

    Returns a native-endian array of the stored dtype (uint8, int8, int16, int32, float32 or
    float64) and the stored shape, rank 1 to 4. The header must match the data length exactly.

    Raises FileNotFoundError if ``path`` does not exist, DataFormatError if the file is not a
    well-formed IDX file (wrong magic, unknown type code, absurd dims, truncated or extra data,
    corrupt gzip).
    """
    path = Path(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            return _read_idx_stream(raw, path, "")
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx_stream(stream, path, " (decompressed)")
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise DataFormatError(f"{path}: corrupt gzip data: {error}") from None


def _read_idx_stream(stream: IO[bytes], path: Path, unit: str) -> np.ndarray:
    header = _read_at_most(stream, 4)
    if len(header) < 4:
        raise DataFormatError(
            f"{path}: truncated IDX header: {len(header)} bytes{unit}, expected at least 4"
        )
    if header[0] != 0 or header[1] != 0:
        raise DataFormatError(
            f"{path}: not an IDX file: it starts with bytes {bytes(header[:2]).hex(' ')}, "
            "expected 00 00 (or 1f 8b for gzip)"
        )
    code, rank = header[2], header[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataFormatError(
            f"{path}: unknown IDX type code 0x{code:02X}; expected one of {known}"
        )
    if not 1 <= rank <= IDX_MAX_RANK:
        raise DataFormatError(
            f"{path}: IDX rank {rank} is not supported; expected 1 to {IDX_MAX_RANK}"
        )
    dims_bytes = _read_at_most(stream, 4 * rank)
    if len(dims_bytes) < 4 * rank:
        raise DataFormatError(
            f"{path}: truncated IDX header: rank {rank} needs {4 + 4 * rank} header bytes, "
            f"the file{unit} has {4 + len(dims_bytes)}"
        )
    dims = struct.unpack(f">{rank}I", dims_bytes)
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    extent = math.prod(dim for dim in dims if dim) * dtype.itemsize  # (0, 2**32) is absurd too
    if extent > MAX_DATA_BYTES:
        raise DataFormatError(
            f"{path}: IDX header declares shape {dims} of {dtype.name} = {extent} bytes "
            f"(ignoring zero dims), more than the limit of {MAX_DATA_BYTES}"
        )
    data = _read_at_most(stream, expected + 1)
    if len(data) != expected:
        if len(data) < expected:
            actual = str(len(data))
        else:
            rest, exhausted = _count_rest(stream, limit=64 * _CHUNK)
            actual = str(len(data) + rest) if exhausted else f"more than {len(data) + rest}"
        raise DataFormatError(
            f"{path}: IDX header declares shape {dims} of {dtype.name} = {expected} data bytes, "
            f"but the file{unit} holds {actual} data bytes after the {4 + 4 * rank}-byte header"
        )
    native = dtype.newbyteorder("=")
    if expected == 0:
        return np.zeros(dims, dtype=native)
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(native, copy=False)


def _read_at_most(stream: IO[bytes], size: int) -> bytearray:
    """Up to ``size`` bytes, read in chunks so that memory grows only with the data really there."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(_CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _count_rest(stream: IO[bytes], limit: int) -> tuple[int, bool]:
    """How many bytes remain (up to ``limit``, discarded), and whether the end was reached."""
    count = 0
    while count < limit:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return count, True
        count += len(chunk)
    return count, False


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Store ``array`` (rank 1 to 4) as an IDX file; gzip-compressed if ``path`` ends in ``.gz``.

    The dtype must be one IDX can hold: uint8, int8, int16, int32, float32 or float64 (convert
    int64 labels with ``.astype(np.uint8)`` first). The file is written atomically (a temporary
    file in the same folder, then renamed). Raises ValueError for an unsupported dtype or shape.
    """
    path = Path(path)
    data = np.asarray(array)
    code = _IDX_CODES.get((data.dtype.kind, data.dtype.itemsize))
    if code is None or data.dtype.fields is not None:
        raise ValueError(
            "write_idx stores uint8, int8, int16, int32, float32 or float64 arrays, "
            f"got dtype {data.dtype}"
        )
    if not 1 <= data.ndim <= IDX_MAX_RANK:
        raise ValueError(
            f"write_idx stores arrays of rank 1 to {IDX_MAX_RANK}, got shape {data.shape}"
        )
    if any(dim >= 2**32 for dim in data.shape) or data.nbytes > MAX_DATA_BYTES:
        raise ValueError(f"array of shape {data.shape} is too large for an IDX file")
    header = bytes([0, 0, code, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape)
    body = data.astype(IDX_DTYPES[code], copy=False).tobytes(order="C")
    with atomic_write(path) as out:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6, mtime=0) as z:
                z.write(header)
                z.write(body)
        else:
            out.write(header)
            out.write(body)


# ---------------------------------------------------------------------------------------------
# MNIST and MNIST-style folders


def default_data_dir(name: str = "mnist") -> Path:
    """``$DELTAPROP_DATA/name`` if that variable is set, else ``~/.cache/deltaprop/name``."""
    base = os.environ.get("DELTAPROP_DATA")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "deltaprop"
    return root / name


def load_mnist(
    data_dir: PathLike | None = None,
    dtype: object = "float64",
    download: bool = True,
    mirrors: Sequence[str] = DEFAULT_MIRRORS,
    timeout: float = 30,
    checksums: Mapping[str, str] | None = None,
) -> Dataset:
    """MNIST in the book's split: train (50000, 784), validation (10000, 784), test (10000, 784).

    The four files of :data:`IDX_FILES` (each ``.gz`` or not) are read from ``data_dir``, else
    from :func:`default_data_dir` (``$DELTAPROP_DATA/mnist`` or ``~/.cache/deltaprop/mnist``).
    Missing files are downloaded, when ``download`` is true, from ``mirrors`` (URL prefixes tried
    in order, ``timeout`` seconds per network operation), checked against the md5 of their
    uncompressed content in ``checksums`` (default :data:`MNIST_MD5`; a file absent from the
    mapping is not checked) and written atomically into the folder. Pixels are divided by 255, so
    X lies in [0, 1] in ``dtype``; y is int64 in 0..9. The training rows are split as in
    :func:`load_idx_dir` (last 10000 validate), the t10k rows are the test set.

    Raises DownloadError when a file can be fetched from no mirror (offline, bad checksum), with
    the missing files and the folder to put them in; FileNotFoundError when files are missing and
    ``download`` is false; DataFormatError for malformed files.
    """
    dtype = check_dtype(dtype)
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir("mnist")
    missing = [stem for stem in IDX_FILES if _find_idx_file(directory, stem) is None]
    if missing:
        if not download:
            raise FileNotFoundError(
                "MNIST files missing and download=False. " + _where_to_put(directory, missing)
            )
        timeout = check_number("timeout", timeout, positive=True)
        mirrors = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
        table = MNIST_MD5 if checksums is None else checksums
        _download_missing(directory, missing, mirrors, table, timeout)
    return _load_idx(directory, dtype, None, "mnist")


def _where_to_put(directory: Path, missing: Sequence[str]) -> str:
    names = ", ".join(f"{stem}.gz" for stem in missing)
    return (
        f"Missing: {names}. Download them (e.g. from {DEFAULT_MIRRORS[0]}) and put them, "
        f"gzip-compressed or not, in {directory.absolute()} "
        "(or pass data_dir=..., or set $DELTAPROP_DATA to a folder holding mnist/)."
    )


def _download_missing(
    directory: Path,
    missing: Sequence[str],
    mirrors: Sequence[str],
    checksums: Mapping[str, str],
    timeout: float,
) -> None:
    """Fetch each missing ``stem.gz`` from the first mirror that serves it intact."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(
            f"cannot create the data folder {directory}: {error}. "
            + _where_to_put(directory, missing)
        ) from None
    for index, stem in enumerate(missing):
        failures = []
        for mirror in mirrors:
            url = f"{mirror.rstrip('/')}/{stem}.gz"
            try:
                _fetch(url, directory / f"{stem}.gz", checksums.get(stem), timeout)
                break
            except (OSError, http.client.HTTPException, ValueError) as error:
                failures.append(f"{url} ({error})")
        else:
            tried = "; ".join(failures) if failures else "no mirrors given"
            raise DownloadError(
                f"could not download {stem}.gz from any mirror: {tried}. "
                + _where_to_put(directory, missing[index:])
            )


def _fetch(url: str, target: Path, md5: str | None, timeout: float) -> None:
    """Download ``url`` to ``target`` atomically; its gzip content must have md5 ``md5``."""
    with atomic_write(target) as out:
        total = 0
        with urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length", "")
            while chunk := response.read(_CHUNK):
                total += len(chunk)
                if total > MAX_DOWNLOAD_BYTES:
                    raise DownloadError(f"larger than the limit of {MAX_DOWNLOAD_BYTES} bytes")
                out.write(chunk)
        if announced.isdigit() and total != int(announced):
            raise DownloadError(f"truncated: received {total} of {announced} bytes")
        if total == 0:
            raise DownloadError("empty response")
        out.seek(0)
        digest = _gzip_content_md5(out, url)
        if md5 is not None and digest != md5.lower():
            raise DownloadError(f"md5 of the uncompressed content is {digest}, expected {md5}")


def _gzip_content_md5(stream: IO[bytes], source: str) -> str:
    """md5 hex digest of the decompressed content of a gzip stream (bounded in size)."""
    digest = hashlib.md5(usedforsecurity=False)
    total = 0
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as content:
            while chunk := content.read(_CHUNK):
                total += len(chunk)
                if total > MAX_DATA_BYTES + 4 + 4 * IDX_MAX_RANK:
                    raise DataFormatError(
                        f"{source}: decompresses to more than {MAX_DATA_BYTES} bytes"
                    )
                digest.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataFormatError(f"{source}: not valid gzip data: {error}") from None
    return digest.hexdigest()


def _find_idx_file(directory: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_idx_dir(
    directory: PathLike, dtype: object = "float64", validation_size: int | None = None
) -> Dataset:
    """A data set laid out like MNIST: the four files of :data:`IDX_FILES`, each ``.gz`` or not.

    Images may have rank 2 (m, n_features), 3 (m, height, width; sets ``image_shape``) or 4; they
    are flattened to X of shape (m, n_features) in ``dtype``. uint8 pixels are divided by 255 (X in
    [0, 1]); other IDX types are converted unchanged and must be finite. Labels must be a rank-1
    integer IDX array with one label per image; y is int64, n_classes = max label + 1 (at most
    :data:`MAX_CLASSES`). The validation split is the last ``validation_size`` training rows
    (default 10000 if there are more than 20000 training rows, else one sixth, rounded down); the
    test split is the t10k files.

    Raises FileNotFoundError naming the folder and the missing files, DataFormatError for
    malformed or inconsistent files, ValueError for a bad ``dtype`` or ``validation_size``.
    """
    dtype = check_dtype(dtype)
    if validation_size is not None:
        validation_size = check_positive_int("validation_size", validation_size, minimum=0)
    directory = Path(directory).expanduser()
    return _load_idx(directory, dtype, validation_size, directory.name or "idx")


def _load_idx(directory: Path, dtype: np.dtype, validation_size: int | None, name: str) -> Dataset:
    if not directory.is_dir():
        raise FileNotFoundError(f"no such folder: {directory}")
    paths = [_find_idx_file(directory, stem) for stem in IDX_FILES]
    missing = [stem for stem, path in zip(IDX_FILES, paths, strict=True) if path is None]
    if missing:
        raise FileNotFoundError(
            f"{directory}: missing {', '.join(missing)} (each may also end in .gz)"
        )
    train_images, train_labels, test_images, test_labels = paths
    X_train, image_shape = _idx_features(train_images, dtype)
    X_test, _ = _idx_features(test_images, dtype)
    if X_test.shape[1] != X_train.shape[1]:
        raise DataFormatError(
            f"{test_images}: {X_test.shape[1]} features per image, but {train_images} has "
            f"{X_train.shape[1]}"
        )
    y_train = _idx_labels(train_labels, X_train.shape[0], train_images)
    y_test = _idx_labels(test_labels, X_test.shape[0], test_images)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    m = X_train.shape[0]
    if validation_size is None:
        validation_size = 10_000 if m > 20_000 else m // 6
    if validation_size >= m:
        raise ValueError(
            f"validation_size must be less than the {m} training rows, got {validation_size}"
        )
    cut = m - validation_size
    return Dataset(
        name=name,
        train=Split(X_train[:cut], y_train[:cut]),
        validation=Split(X_train[cut:], y_train[cut:]),
        test=Split(X_test, y_test),
        n_classes=n_classes,
        image_shape=image_shape,
    )


def _idx_features(path: Path, dtype: np.dtype) -> tuple[np.ndarray, tuple[int, int] | None]:
    """X (m, n_features) in ``dtype`` from an IDX image file, and (height, width) if rank 3."""
    images = read_idx(path)
    if images.ndim < 2 or images.shape[0] == 0 or math.prod(images.shape[1:]) == 0:
        raise DataFormatError(
            f"{path}: expected images of shape (m, ...) with m >= 1 and at least one value per "
            f"image, got shape {images.shape}"
        )
    with np.errstate(over="ignore"):  # float64 -> float32 overflow becomes inf, rejected below
        features = images.reshape(images.shape[0], -1).astype(dtype)
    if images.dtype == np.uint8:
        features /= 255
    elif not np.all(np.isfinite(features)):
        raise DataFormatError(f"{path}: images hold NaN or infinite values (as {dtype.name})")
    image_shape = (int(images.shape[1]), int(images.shape[2])) if images.ndim == 3 else None
    return features, image_shape


def _idx_labels(path: Path, rows: int, images: Path) -> np.ndarray:
    labels = read_idx(path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataFormatError(
            f"{path}: expected a rank-1 integer label array, got shape {labels.shape} "
            f"of {labels.dtype.name}"
        )
    if labels.shape[0] != rows:
        raise DataFormatError(f"{path}: {labels.shape[0]} labels for the {rows} images in {images}")
    return _as_labels(labels, str(path), lambda i: f"label {i}")


# ---------------------------------------------------------------------------------------------
# Embedded digits, .npz and .csv


def load_digits(dtype: object = "float64", seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1797 images, no download.

    Pixels 0..16 are divided by 16, so X lies in [0, 1]; image_shape is (8, 8), n_classes 10.
    The rows are shuffled with ``seed`` and split 70/15/15: train (1257, 64), validation (270, 64),
    test (270, 64). The same seed gives the same split on every call.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    bunch = sklearn_load_digits()
    features = np.asarray(bunch.data).astype(dtype)
    features /= 16
    labels = np.asarray(bunch.target).astype(np.int64)
    train, validation, test = _shuffle_split(features, labels, seed)
    return Dataset("digits", train, validation, test, n_classes=10, image_shape=(8, 8))


def _shuffle_split(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[Split, Split, Split]:
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


def load_npz(path: PathLike, dtype: object = "float64", seed: int = 0) -> Dataset:
    """A data set from an ``.npz`` archive with arrays ``X`` (m, n_features) and ``y`` (m,).

    Read with ``np.load(path, allow_pickle=False)``: object arrays are refused. X must be numeric
    and finite and is converted to ``dtype`` but NOT rescaled; y must hold non-negative integers
    (whole-number floats are accepted) below :data:`MAX_CLASSES`; n_classes = max label + 1.
    Rows are shuffled with ``seed`` and split 70/15/15 like :func:`load_digits`. image_shape is
    (s, s) when n_features = s * s, else None.

    Raises FileNotFoundError if ``path`` is not a file, DataFormatError for anything malformed.
    """
    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    path = _existing_file(path)
    features, labels = _read_npz(path)
    return _table_dataset(path, features, labels, dtype, seed, lambda i: f"y[{i}]")


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


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise DataFormatError(
            f"{path}: holds a single .npy array; expected an .npz archive with arrays X and y "
            "(np.savez(path, X=X, y=y))"
        )
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise DataFormatError(f"{path}: not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover - magic checked
                raise DataFormatError(f"{path}: not an .npz archive")
            missing = [key for key in ("X", "y") if key not in archive.files]
            if missing:
                raise DataFormatError(
                    f"{path}: no array named {' or '.join(missing)}; found {archive.files}; "
                    "expected X (m, n_features) and y (m,)"
                )
            return _npz_member(archive, "X", path), _npz_member(archive, "y", path)
    except DataFormatError:
        raise
    except _ZIP_ERRORS as error:
        raise DataFormatError(f"{path}: not a readable .npz archive: {error}") from None


def _npz_member(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    """``archive[key]`` after checking its .npy header: numeric, and as long as it claims."""
    member = f"{key}.npy"
    names = archive.zip.namelist()
    if member not in names or key in names:
        raise DataFormatError(f"{path}: member {key!r} is not a .npy array")
    info = archive.zip.getinfo(member)
    with archive.zip.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise DataFormatError(f"{path}: array {key} has unsupported .npy version {version}")
        header_size = stream.tell()
    if dtype.hasobject:
        raise DataFormatError(
            f"{path}: array {key} holds Python objects (pickled data), which are not loaded; "
            "store numbers"
        )
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise DataFormatError(f"{path}: array {key} must hold numbers, got dtype {dtype}")
    declared = math.prod(shape) * dtype.itemsize
    stored = info.file_size - header_size
    if declared != stored or declared > MAX_DATA_BYTES:
        raise DataFormatError(
            f"{path}: array {key} declares shape {shape} of {dtype} = {declared} bytes, "
            f"but holds {stored} bytes (limit {MAX_DATA_BYTES})"
        )
    return np.asarray(archive[key])


def load_csv(path: PathLike, dtype: object = "float64", seed: int = 0) -> Dataset:
    """A data set from a ``.csv`` file: a header row with a ``label`` column, the rest features.

    Every cell must be a finite number (UTF-8 text, comma-separated, blank lines skipped); labels
    must be non-negative whole numbers below :data:`MAX_CLASSES`. Features are converted to
    ``dtype`` but NOT rescaled. Rows are shuffled with ``seed`` and split 70/15/15 like
    :func:`load_digits`; image_shape is (s, s) when n_features = s * s, else None.

    Raises FileNotFoundError if ``path`` is not a file; DataFormatError (naming the line and
    column) for an empty file, a missing ``label`` column, ragged rows or non-numeric cells.
    """
    dtype = check_dtype(dtype)
    seed = check_positive_int("seed", seed, minimum=0)
    path = _existing_file(path)
    table, lines, label_column = _read_csv(path)
    labels = table[:, label_column]
    features = np.delete(table, label_column, axis=1)
    return _table_dataset(
        path, features, labels, dtype, seed, lambda i: f"line {lines[i]}, column 'label'"
    )


def _read_csv(path: Path) -> tuple[np.ndarray, _PackedArray, int]:
    """All cells as float64 (rows, columns), each row's line number, and the label column."""
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next((row for row in reader if row), None)
            if header is None:
                raise DataFormatError(
                    f"{path}: empty file; expected a header row with a 'label' column"
                )
            names = [name.strip() for name in header]
            label_column = _label_column(path, reader.line_num, names)
            values, lines = _PackedArray("d"), _PackedArray("q")
            for row in reader:
                if row:
                    values.extend(_csv_row(path, reader.line_num, row, names))
                    lines.append(reader.line_num)
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 text: {error}") from None
    except csv.Error as error:
        line = reader.line_num if reader is not None else 1
        raise DataFormatError(f"{path}, line {line}: {error}") from None
    if not lines:
        raise DataFormatError(f"{path}: no data rows after the header")
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(names))
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        raise DataFormatError(
            f"{path}, line {lines[row]}, column {column + 1} ({names[column]!r}): "
            f"{table[row, column]} is not a finite number"
        )
    return table, lines, label_column


def _label_column(path: Path, line: int, names: list[str]) -> int:
    found = [i for i, name in enumerate(names) if name.lower() == "label"]
    if len(found) != 1:
        problem = "no 'label' column" if not found else f"{len(found)} 'label' columns"
        raise DataFormatError(f"{path}, line {line}: header has {problem}: {names[:20]}")
    if len(names) < 2:
        raise DataFormatError(f"{path}, line {line}: header has no feature columns besides 'label'")
    return found[0]


def _csv_row(path: Path, line: int, row: list[str], names: list[str]) -> list[float]:
    if len(row) != len(names):
        raise DataFormatError(
            f"{path}, line {line}: {len(row)} fields, expected {len(names)} as in the header"
        )
    try:
        return [float(cell) for cell in row]
    except ValueError:
        for column, cell in enumerate(row):
            try:
                float(cell)
            except ValueError:
                raise DataFormatError(
                    f"{path}, line {line}, column {column + 1} ({names[column]!r}): "
                    f"{cell[:40]!r} is not a number"
                ) from None
        raise  # pragma: no cover - some cell failed above


def _existing_file(path: PathLike) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return path


def _table_dataset(
    path: Path,
    features: np.ndarray,
    labels: np.ndarray,
    dtype: np.dtype,
    seed: int,
    where: Callable[[int], str],
) -> Dataset:
    """Check an (X, y) table read from ``path``, then shuffle-split it."""
    if features.ndim != 2 or 0 in features.shape:
        raise DataFormatError(
            f"{path}: X must have shape (m, n_features) with m, n_features >= 1, "
            f"got {features.shape}"
        )
    if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise DataFormatError(
            f"{path}: y must have shape ({features.shape[0]},) to match X {features.shape}, "
            f"got {labels.shape}"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is rejected below
        X = features.astype(dtype)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        raise DataFormatError(
            f"{path}: X[{row}, {column}] = {features[row, column]} is not a finite "
            f"{dtype.name}; features must be finite (no NaN or inf)"
        )
    y = _as_labels(labels, str(path), where)
    side = math.isqrt(X.shape[1])
    image_shape = (side, side) if side * side == X.shape[1] else None
    train, validation, test = _shuffle_split(X, y, seed)
    return Dataset(path.stem, train, validation, test, int(y.max()) + 1, image_shape)


def _as_labels(values: np.ndarray, source: str, where: Callable[[int], str]) -> np.ndarray:
    """int64 labels from integers or whole-number floats in [0, MAX_CLASSES)."""
    if values.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if bad.size:
            i = int(bad[0])
            raise DataFormatError(
                f"{source}: {where(i)} = {values[i]} is not a whole number; labels must be "
                "integers >= 0"
            )
    elif values.dtype.kind not in "iu":
        raise DataFormatError(f"{source}: labels must be integers, got dtype {values.dtype}")
    bad = np.flatnonzero((values < 0) | (values >= MAX_CLASSES))
    if bad.size:
        i = int(bad[0])
        raise DataFormatError(
            f"{source}: {where(i)} = {values[i]}; labels must be integers in [0, {MAX_CLASSES})"
        )
    return values.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Command line


_SPEC_FORMS = (
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
        raise TypeError(f"dataset must be a string or path; expected {_SPEC_FORMS}, got {spec!r}")
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
    raise ValueError(f"unknown dataset {spec!r}; expected {_SPEC_FORMS}")
