"""MNIST, and any folder laid out like it: :func:`load_mnist`, :func:`load_idx_dir`."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from deltaprop._validation import all_finite, check_dtype, check_number, check_positive_int
from deltaprop.datasets.base import Dataset, PathLike, Split, check_decoded, file_labels
from deltaprop.datasets.download import DEFAULT_MIRRORS, MNIST_MD5, download_missing, where_to_put
from deltaprop.datasets.idx import read_idx, read_idx_header
from deltaprop.errors import DataFormatError

__all__ = ["IDX_FILES", "default_data_dir", "load_idx_dir", "load_mnist"]

#: The four files of an MNIST-style folder (each may also end in ``.gz``): train images, train
#: labels, test images, test labels.
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


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
                "MNIST files missing and download=False. " + where_to_put(directory, missing)
            )
        timeout = check_number("timeout", timeout, positive=True)
        mirrors = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
        table = MNIST_MD5 if checksums is None else checksums
        download_missing(directory, missing, mirrors, table, timeout)
    return _load_idx(directory, dtype, None, "mnist")


def load_idx_dir(
    directory: PathLike, dtype: object = "float64", validation_size: int | None = None
) -> Dataset:
    """A data set laid out like MNIST: the four files of :data:`IDX_FILES`, each ``.gz`` or not.

    Images may have rank 2 (m, n_features), 3 (m, height, width; sets ``image_shape``) or 4; they
    are flattened to X of shape (m, n_features) in ``dtype``. uint8 pixels are divided by 255 (X in
    [0, 1]); other IDX types are converted unchanged and must be finite. Labels must be a rank-1
    integer IDX array with one label per image; y is int64, n_classes = max label + 1 (at most
    :data:`~deltaprop._validation.MAX_CLASSES`). The validation split is the last
    ``validation_size`` training rows (default 10000 if there are more than 20000 training rows,
    else one sixth, rounded down); the test split is the t10k files.

    Raises FileNotFoundError naming the folder and the missing files, DataFormatError for
    malformed or inconsistent files, ValueError for a bad ``dtype`` or ``validation_size``.
    """
    dtype = check_dtype(dtype)
    if validation_size is not None:
        validation_size = check_positive_int("validation_size", validation_size, minimum=0)
    directory = Path(directory).expanduser()
    return _load_idx(directory, dtype, validation_size, directory.name or "idx")


def _find_idx_file(directory: Path, stem: str) -> Path | None:
    """``stem.gz`` in ``directory``, else ``stem``, else None."""
    return next((path for path in (directory / f"{stem}.gz", directory / stem) if path.is_file()), None)


def _load_idx(directory: Path, dtype: np.dtype, validation_size: int | None, name: str) -> Dataset:
    if not directory.is_dir():
        raise FileNotFoundError(f"no such folder: {directory}")
    paths = [_find_idx_file(directory, stem) for stem in IDX_FILES]
    missing = [stem for stem, path in zip(IDX_FILES, paths, strict=True) if path is None]
    if missing:
        raise FileNotFoundError(f"{directory}: missing {', '.join(missing)} (each may also end in .gz)")
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
    m = X_train.shape[0]
    if validation_size is None:
        validation_size = 10_000 if m > 20_000 else m // 6
    if validation_size >= m:
        raise ValueError(f"validation_size must be less than the {m} training rows, got {validation_size}")
    cut = m - validation_size
    return Dataset(
        name=name,
        train=Split(X_train[:cut], y_train[:cut]),
        validation=Split(X_train[cut:], y_train[cut:]),
        test=Split(X_test, y_test),
        n_classes=int(max(y_train.max(), y_test.max())) + 1,
        image_shape=image_shape,
    )


def _idx_features(path: Path, dtype: np.dtype) -> tuple[np.ndarray, tuple[int, int] | None]:
    """X (m, n_features) in ``dtype`` from an IDX image file, and (height, width) if rank 3.

    What X needs (the stored data and their conversion to ``dtype``) is checked against the limits
    and the memory available from the header alone, before the data are read."""
    dims, stored = read_idx_header(path)
    check_decoded(f"{path}: {dims[0]:,} images of {math.prod(dims[1:]):,} values as {dtype.name}",
                  math.prod(dims) * (stored.itemsize + dtype.itemsize))
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
    elif not all_finite(features):
        raise DataFormatError(f"{path}: images hold NaN or infinite values (as {dtype.name})")
    image_shape = (int(images.shape[1]), int(images.shape[2])) if images.ndim == 3 else None
    return features, image_shape


def _idx_labels(path: Path, rows: int, images: Path) -> np.ndarray:
    dims, _ = read_idx_header(path)
    if dims[0] != rows:  # before reading them
        raise DataFormatError(f"{path}: {dims[0]} labels for the {rows} images in {images}")
    labels = read_idx(path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataFormatError(
            f"{path}: expected a rank-1 integer label array, got shape {labels.shape} "
            f"of {labels.dtype.name}"
        )
    if labels.shape[0] != rows:
        raise DataFormatError(f"{path}: {labels.shape[0]} labels for the {rows} images in {images}")
    return file_labels(labels, f"{path}: labels", lambda i: f"{path}: label {i}")
