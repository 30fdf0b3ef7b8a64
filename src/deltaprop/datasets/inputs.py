"""Reading the inputs of a trained network to predict from: ``.npy`` arrays, ``.csv`` rows and
images of every format Pillow decodes (PNG, JPEG, BMP, GIF, TIFF, WebP...: ``datasets.imagefiles``;
prepared like MNIST's digits: ``datasets.images``), each returned as a float64 matrix
(m, n_inputs), one row per example.

:func:`read_inputs` picks the reader by the file's suffix. Errors: a missing file raises
FileNotFoundError; a file that cannot be read, or does not fit ``n_inputs``, raises
:class:`~deltaprop.errors.DataFormatError` naming the file (and the line, for CSV); bad arguments
raise ValueError or TypeError.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
from collections.abc import Sequence

import numpy as np

from deltaprop._validation import check_positive_int, choice
from deltaprop.datasets.base import PathLike, check_decoded, check_finite, check_magnitude, existing_file
from deltaprop.datasets.imagefiles import decode_gray, image_suffixes
from deltaprop.datasets.images import area_resize, preparation_bytes, prepare_digit
from deltaprop.datasets.tables import NPY_MAGIC, check_npy_header, csv_rows, is_number, read_csv_table
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_IMAGE_PIXELS, shorten

__all__ = ["IMAGE_SHAPES", "INPUT_SUFFIXES", "INVERT_CHOICES", "PREPARE_CHOICES", "ROW_SUFFIXES",
           "image_shape_for", "is_image", "read_csv_rows", "read_image", "read_inputs", "read_npy_rows"]

#: Image shape of a model that stored none, by its number of inputs: MNIST and the 8x8 digits.
IMAGE_SHAPES = {784: (28, 28), 64: (8, 8)}
#: The values of ``invert`` for pictures: "auto" (decide from the picture), "yes" (dark ink on light
#: paper: invert it), "no" (light ink on dark already).
INVERT_CHOICES = ("auto", "yes", "no")
#: The file types of rows :func:`read_inputs` reads; images are any of ``image_suffixes()``.
ROW_SUFFIXES = (".npy", ".csv")
#: The usual file types :func:`read_inputs` reads, for messages: the tables and the common images
#: (every suffix of :func:`~deltaprop.datasets.imagefiles.image_suffixes` is read).
INPUT_SUFFIXES = (*ROW_SUFFIXES, ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: How an image becomes an input: prepared like MNIST's digits, or only resized.
PREPARE_CHOICES = ("digit", "resize")
_INVERT, _PREPARE = choice(INVERT_CHOICES), choice(PREPARE_CHOICES)


def read_inputs(
    path: PathLike, n_inputs: int, image_shape: object = None, invert: str = "auto",
    prepare: str = "digit",
) -> np.ndarray:
    """The examples in ``path`` as a float64 array (m, n_inputs), by suffix (case-insensitive).

    ``.npy`` -> :func:`read_npy_rows`; ``.csv`` -> :func:`read_csv_rows`; an image (:func:`is_image`:
    ``.png``, ``.jpg``, ``.bmp``, ``.gif``, ``.tiff``, ``.webp``...) -> one row from :func:`read_image`,
    of :func:`image_shape_for` (``n_inputs``, ``image_shape``), where ``image_shape`` is the (height,
    width) stored with the model, if any.
    ``invert`` and ``prepare`` are for images.

    Raises FileNotFoundError if ``path`` is not a file, ValueError for another suffix, a bad
    ``invert`` or (for a PNG) an ``n_inputs`` that is no image, DataFormatError for a bad file.
    """
    path = existing_file(path)
    n_inputs = check_positive_int("n_inputs", n_inputs)
    _INVERT.check("invert", invert)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy_rows(path, n_inputs)
    if suffix == ".csv":
        return read_csv_rows(path, n_inputs)
    if is_image(path):
        return read_image(path, image_shape_for(n_inputs, image_shape), invert, prepare)
    raise ValueError(f"cannot read {path}: expected a .npy or .csv file or an image "
                     f"({', '.join(INPUT_SUFFIXES[2:])}...)")


def is_image(path: PathLike) -> bool:
    """Whether ``path`` is named as an image file: its suffix (case-insensitive) is one of Pillow's
    formats decoded here (:func:`~deltaprop.datasets.imagefiles.image_suffixes`)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    return suffix not in ROW_SUFFIXES and suffix in image_suffixes()


def image_shape_for(n_inputs: int, stored: object = None) -> tuple[int, int]:
    """The (height, width) of the images a model with ``n_inputs`` inputs reads.

    ``stored`` (the shape saved with the model, a pair of ints, or None) if it has ``n_inputs``
    pixels; otherwise :data:`IMAGE_SHAPES` (28x28 for 784, 8x8 for 64), else the square side x side
    when ``n_inputs`` is a square. Raises ValueError when ``n_inputs`` is none of these.
    """
    n_inputs = check_positive_int("n_inputs", n_inputs)
    shape = _as_shape(stored)
    if shape is not None and shape[0] * shape[1] == n_inputs:
        return shape
    if n_inputs in IMAGE_SHAPES:
        return IMAGE_SHAPES[n_inputs]
    side = math.isqrt(n_inputs)
    if side * side == n_inputs:
        return side, side
    raise ValueError(f"the model takes {n_inputs} inputs, which is not an image; give a .npy or .csv file")


# -- .npy ----------------------------------------------------------------------------------------


def read_npy_rows(path: PathLike, n_inputs: int) -> np.ndarray:
    """The rows of a ``.npy`` array (``numpy.save``) as float64 (m, n_inputs).

    Accepted shapes: one example (n_inputs,), rows (m, n_inputs), and images whose last two
    dimensions hold n_inputs pixels: one (h, w) or several (m, h, w). The array must hold finite
    numbers (bool, integer or float); Python objects are never loaded.

    Raises FileNotFoundError if ``path`` is not a file, DataFormatError if it is not a readable
    ``.npy`` file, its header lies about its size, or its shape does not fit ``n_inputs``.
    """
    path = existing_file(path)
    n_inputs = check_positive_int("n_inputs", n_inputs)
    with open(path, "rb") as file:
        if file.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise DataFormatError(f"{path}: not a .npy file (write one with numpy.save)")
        file.seek(0)
        try:
            shape, dtype = check_npy_header(file, os.fstat(file.fileno()).st_size, str(path))
            # the stored array, and its rows as float64 (with a temporary of their finiteness)
            check_decoded(f"{path}: an array of shape {shorten(str(shape), 80)} as float64 rows",
                          math.prod(shape) * (dtype.itemsize + 9))
            file.seek(0)
            array = np.lib.format.read_array(file, allow_pickle=False)
        except DataFormatError:
            raise
        except (ValueError, OSError, EOFError) as error:
            raise DataFormatError(f"{path}: not a readable .npy array: {str(error)[:200]}") from None
    if array.ndim >= 2 and math.prod(array.shape[-2:]) == n_inputs and array.shape[-1] != n_inputs:
        array = array.reshape(*array.shape[:-2], n_inputs)  # images (h, w) or (m, h, w)
    if array.ndim == 1 and array.shape[0] == n_inputs:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_inputs or array.shape[0] == 0:
        raise DataFormatError(
            f"{path}: array of shape {array.shape} does not fit the model's {n_inputs} inputs; "
            f"expected ({n_inputs},), (m, {n_inputs}) or images whose pixels number {n_inputs}"
        )
    rows = array.astype(np.float64)
    check_finite(rows, lambda row, column: f"{path}: row {row}, column {column} is {rows[row, column]}; "
                 "expected finite numbers")
    check_magnitude(rows, lambda row, column: f"{path}: row {row}, column {column}")
    return rows


# -- .csv ----------------------------------------------------------------------------------------


def read_csv_rows(path: PathLike, n_inputs: int) -> np.ndarray:
    """The rows of a ``.csv`` file as float64 (m, n_inputs), read like :func:`load_csv` reads.

    UTF-8 text, comma-separated, blank lines skipped, every cell a finite number. The first row is
    a header when some cell of it is no number: then every row must have as many fields as the
    header, columns named ``label`` are dropped and the rest must number ``n_inputs``. Without a
    header every row must have ``n_inputs`` fields.

    Raises FileNotFoundError if ``path`` is not a file, DataFormatError (naming the line, and the
    column of a bad cell) for a file with no rows, ragged rows, or cells that are no finite number.
    """
    path = existing_file(path)
    n_inputs = check_positive_int("n_inputs", n_inputs)
    with csv_rows(path) as rows:
        first = next(rows, None)
        if first is None:
            raise DataFormatError(f"{path}: no rows of features (the file is empty)")
        names = _input_header(path, *first, n_inputs)
        return read_csv_table(path, rows if names is not None else itertools.chain([first], rows), names,
                              n_inputs if names is None else len(names),
                              "no rows of features after the header").features


def _input_header(path: PathLike, line: int, row: list[str], n_inputs: int) -> list[str] | None:
    """The column names if ``row`` is a header (some cell is no number), else None."""
    if all(is_number(cell) for cell in row):
        return None
    names = [name.strip() for name in row]
    features = sum(name.lower() != "label" for name in names)
    if features != n_inputs:
        raise DataFormatError(
            f"{path}, line {line}: the header names {features} feature columns (besides 'label'), "
            f"but the model takes {n_inputs}"
        )
    return names


# -- images --------------------------------------------------------------------------------------


def read_image(path: PathLike, shape: tuple[int, int], invert: str = "auto",
               prepare: str = "digit") -> np.ndarray:
    """One input row (1, height * width) in [0, 1] from an image file (PNG, JPEG, BMP, GIF, TIFF,
    WebP...: :func:`~deltaprop.datasets.imagefiles.decode_gray`), light strokes on dark.

    The image is made grayscale (transparent pixels count as white; an EXIF orientation is
    applied). Then, with ``prepare="digit"`` (the default), it is prepared the way MNIST was made
    (:func:`deltaprop.datasets.images.prepare_digit`: ink separated from an uneven background,
    cropped, scaled to fit a box keeping its aspect, placed by its centre of mass). With
    ``prepare="resize"`` it is only padded with its background (the median of its border) to the
    aspect ratio of ``shape`` = (height, width), resized by area averaging, inverted when its
    background is light and stretched to span [0, 1]. ``invert``: "auto" (decide from the image),
    "yes" (dark ink on light paper: invert), "no" (light ink on dark already).

    Raises FileNotFoundError if ``path`` is not a file, DataFormatError if it cannot be decoded or
    is larger than :data:`~deltaprop.limits.MAX_IMAGE_PIXELS`, ValueError for a bad ``shape``,
    ``invert`` or ``prepare``.
    """
    path = existing_file(path)
    field = _as_shape(shape)
    if field is None:
        raise ValueError(f"shape must be (height, width), two integers >= 1, got {shape!r}")
    _INVERT.check("invert", invert)
    _PREPARE.check("prepare", prepare)
    gray = decode_gray(path, MAX_IMAGE_PIXELS,
                       lambda height, width: preparation_bytes(height, width, field, prepare))
    if prepare == "digit":
        return prepare_digit(gray, field, invert).reshape(1, -1)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    gray = area_resize(gray, field, _padding_to_aspect(gray.shape, field), background)
    if invert == "yes" or (invert == "auto" and background > 0.5):
        gray = 1.0 - gray
    low, high = gray.min(), gray.max()
    if high > low:
        gray = (gray - low) / (high - low)
    return gray.reshape(1, -1)


def _as_shape(value: object) -> tuple[int, int] | None:
    """``value`` as (height, width) when it is a pair of integers >= 1 (Python or numpy ints, not
    bools), else None."""
    if isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(size, numbers.Integral) and not isinstance(size, bool | np.bool_) and size > 0
            for size in value):
        return int(value[0]), int(value[1])
    return None


def _padding_to_aspect(size: tuple[int, int], shape: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """The padding ((top, bottom), (left, right)) that centres an image of ``size`` in the aspect
    ratio of ``shape`` (for :func:`area_resize`, which never makes the padded image)."""
    h, w = size
    target = shape[0] / shape[1]
    if math.isclose(h / w, target):
        return ((0, 0), (0, 0))
    new_h, new_w = (h, round(h / target)) if h / w > target else (round(w * target), w)
    return tuple(((new - old) // 2, new - old - (new - old) // 2) for new, old in ((new_h, h), (new_w, w)))
