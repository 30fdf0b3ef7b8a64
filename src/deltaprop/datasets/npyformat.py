"""Checking a ``.npy`` header before loading the array, shared by the ``.npz`` loader and the
``.npy`` input reader: the array must hold plain numbers and be as long as its header claims, so
that no header can make a reader allocate more than the data really there."""

from __future__ import annotations

import math
import struct
import tokenize
from typing import IO

import numpy as np

from deltaprop.datasets.base import MAX_DATA_BYTES
from deltaprop.errors import DataFormatError

__all__ = ["NPY_MAGIC", "check_npy_header"]

NPY_MAGIC = b"\x93NUMPY"
#: What numpy's header parsing (``ast.literal_eval``, then ``tokenize`` for old headers) may raise.
_HEADER_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    SyntaxError,
    tokenize.TokenError,
    RecursionError,
    OverflowError,
    EOFError,
    struct.error,
)


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
