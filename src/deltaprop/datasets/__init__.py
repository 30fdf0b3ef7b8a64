"""Getting data into (X, y) arrays.

Every loader returns a :class:`Dataset` of three :class:`Split` s (train, validation, test). In each
split rows are examples: ``X`` has shape (m, n_features) and the requested float dtype ("float32" or
"float64"), ``y`` has shape (m,) and dtype int64 and holds class labels 0 .. n_classes - 1.

Sources (one module each):

* :func:`load_digits` -- scikit-learn's bundled 8x8 digits; the default, needs no download.
* :func:`load_mnist` -- MNIST from a local folder, downloaded (and md5-checked) when missing.
* :func:`load_idx_dir` -- any folder laid out like MNIST (the same four IDX file names).
* :func:`load_table` -- your own table of features and labels: ``.csv``/``.tsv``
  (:func:`load_csv`), ``.parquet`` (:func:`load_parquet`, with pyarrow) or ``.npz``
  (:func:`load_npz`), its columns chosen by name, with held-out validation and test files.
* :func:`read_table` -- a table file read whole for a model (its features by name, its labels and
  an id column, if any).
* :func:`load_dataset` -- one of the above from a command-line spec string.
* :func:`read_idx` / :func:`write_idx` -- the IDX array format MNIST ships in.
* :func:`read_inputs` -- the examples to predict from in a ``.npy``, ``.csv`` or ``.png`` file
  (:func:`read_npy_rows`, :func:`read_csv_rows`, :func:`read_image`).

Errors, the same everywhere: a missing file or folder raises ``FileNotFoundError`` naming the path;
a malformed file (truncated, lying header, bad cell, corrupt gzip or zip) raises
:class:`~deltaprop.errors.DataFormatError` naming the file; a failed download raises
:class:`~deltaprop.errors.DownloadError` saying which files are missing and where to put them; bad
arguments raise ``ValueError`` or ``TypeError``. Every read is bounded: what a file needs (its
arrays as stored and as converted, an image's pixels) is computed from its headers and checked against
the limits of :mod:`deltaprop.limits` (:data:`MAX_DATA_BYTES` per stored array) and the memory
available before anything is allocated; labels must number their classes densely (``docs/limits.md``).

Modules: ``base`` (containers, limits), ``idx``, ``download``, ``mnist``, ``tables`` (digits, .npz,
.csv, and the CSV and .npy reading that ``inputs`` shares), ``columns`` (choosing a table's columns
by name), ``parquet`` (.parquet), ``spec`` (command-line specs), ``inputs``
(prediction inputs), ``imagefiles`` (decoding PNG and JPEG), ``images`` (preparing digits).
"""

from deltaprop.datasets.base import MAX_DATA_BYTES, Dataset, Split
from deltaprop.datasets.download import DEFAULT_MIRRORS, MAX_DOWNLOAD_BYTES, MNIST_MD5
from deltaprop.datasets.idx import IDX_DTYPES, IDX_MAX_RANK, read_idx, write_idx
from deltaprop.datasets.imagefiles import grayscale
from deltaprop.datasets.images import area_resize
from deltaprop.datasets.inputs import (
    IMAGE_SHAPES,
    INPUT_SUFFIXES,
    INVERT_CHOICES,
    image_shape_for,
    read_csv_rows,
    read_image,
    read_inputs,
    read_npy_rows,
)
from deltaprop.datasets.mnist import IDX_FILES, default_data_dir, load_idx_dir, load_mnist
from deltaprop.datasets.parquet import ParquetUnavailable
from deltaprop.datasets.spec import AUTO_SCALE, SCALE_CHOICES, SPEC_FORMS, is_table, load_dataset, scaling_for
from deltaprop.datasets.tables import (
    SPLIT_FRACTIONS,
    TABLE_SUFFIXES,
    TableRows,
    load_csv,
    load_digits,
    load_npz,
    load_parquet,
    load_table,
    read_table,
)
from deltaprop.limits import MAX_CLASSES

__all__ = [
    "AUTO_SCALE",
    "DEFAULT_MIRRORS",
    "IDX_DTYPES",
    "IDX_FILES",
    "IDX_MAX_RANK",
    "IMAGE_SHAPES",
    "INPUT_SUFFIXES",
    "INVERT_CHOICES",
    "MAX_CLASSES",
    "MAX_DATA_BYTES",
    "MAX_DOWNLOAD_BYTES",
    "MNIST_MD5",
    "SCALE_CHOICES",
    "SPEC_FORMS",
    "SPLIT_FRACTIONS",
    "TABLE_SUFFIXES",
    "Dataset",
    "ParquetUnavailable",
    "Split",
    "TableRows",
    "area_resize",
    "default_data_dir",
    "grayscale",
    "image_shape_for",
    "is_table",
    "load_csv",
    "load_dataset",
    "scaling_for",
    "load_digits",
    "load_idx_dir",
    "load_mnist",
    "load_npz",
    "load_parquet",
    "load_table",
    "read_csv_rows",
    "read_idx",
    "read_image",
    "read_inputs",
    "read_npy_rows",
    "read_table",
    "write_idx",
]
