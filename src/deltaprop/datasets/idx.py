"""The IDX array format MNIST ships in: :func:`read_idx` and :func:`write_idx`.

An IDX file is a 4-byte magic (00 00, a type code, the rank), one big-endian uint32 per dimension,
then the data, big-endian and row-major. Files may be gzip-compressed.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from deltaprop._files import atomic_write
from deltaprop.datasets.base import CHUNK, MAX_DATA_BYTES, PathLike
from deltaprop.errors import DataFormatError
from deltaprop.limits import check_memory

__all__ = ["IDX_DTYPES", "IDX_MAX_RANK", "read_idx", "read_idx_header", "write_idx"]

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


@contextlib.contextmanager
def _idx_stream(path: Path) -> Iterator[tuple[IO[bytes], str]]:
    """The file's data stream (decompressed when it starts with the gzip magic 1f 8b) and the word
    messages use for its sizes; corrupt gzip data met inside the block is a DataFormatError."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            yield raw, ""
            return
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream, " (decompressed)"
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise DataFormatError(f"{path}: corrupt gzip data: {error}") from None


def read_idx_header(path: PathLike) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and (big-endian) dtype an IDX file declares, read without its data, so that a
    loader can compute what the file needs before reading it (see :func:`read_idx`)."""
    path = Path(path)
    with _idx_stream(path) as (stream, unit):
        return _read_idx_header(stream, path, unit)


def read_idx(path: PathLike) -> np.ndarray:
    """The array stored in an IDX file (raw, or gzip-compressed: detected by magic bytes 1f 8b).

    Returns a native-endian array of the stored dtype (uint8, int8, int16, int32, float32 or
    float64) and the stored shape, rank 1 to 4. The header must match the data length exactly.
    The data are read (and decompressed) in chunks into one array allocated for them once the
    header has been checked against :data:`MAX_DATA_BYTES` and the memory available; the data
    that follow are counted against the header as they stream in.

    Raises FileNotFoundError if ``path`` does not exist, DataFormatError if the file is not a
    well-formed IDX file (wrong magic, unknown type code, absurd dims, truncated or extra data,
    corrupt gzip) or needs more memory than is available.
    """
    path = Path(path)
    with _idx_stream(path) as (stream, unit):
        dims, dtype = _read_idx_header(stream, path, unit)
        expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
        check_memory(f"{path}: its IDX data of shape {dims}", expected, error=DataFormatError)
        data = _read_at_most(stream, expected + 1)  # one byte more tells extra data
        if len(data) != expected:
            if len(data) < expected:
                actual = str(len(data))
            else:
                rest, exhausted = _count_rest(stream, limit=64 * CHUNK)
                actual = str(len(data) + rest) if exhausted else f"more than {len(data) + rest}"
            raise DataFormatError(
                f"{path}: IDX header declares shape {dims} of {dtype.name} = {expected} data bytes, "
                f"but the file{unit} holds {actual} data bytes after the {4 + 4 * len(dims)}-byte header"
            )
    native = dtype.newbyteorder("=")
    if expected == 0:
        return np.zeros(dims, dtype=native)
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(native, copy=False)


def _read_idx_header(stream: IO[bytes], path: Path, unit: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and (big-endian) dtype an IDX header declares, checked against the size limit."""
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
        raise DataFormatError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of {known}")
    if not 1 <= rank <= IDX_MAX_RANK:
        raise DataFormatError(f"{path}: IDX rank {rank} is not supported; expected 1 to {IDX_MAX_RANK}")
    dims_bytes = _read_at_most(stream, 4 * rank)
    if len(dims_bytes) < 4 * rank:
        raise DataFormatError(
            f"{path}: truncated IDX header: rank {rank} needs {4 + 4 * rank} header bytes, "
            f"the file{unit} has {4 + len(dims_bytes)}"
        )
    dims = struct.unpack(f">{rank}I", dims_bytes)
    dtype = IDX_DTYPES[code]
    extent = math.prod(dim for dim in dims if dim) * dtype.itemsize  # (0, 2**32) is absurd too
    if extent > MAX_DATA_BYTES:
        raise DataFormatError(
            f"{path}: IDX header declares shape {dims} of {dtype.name} = {extent} bytes "
            f"(ignoring zero dims), more than the limit of {MAX_DATA_BYTES}"
        )
    return dims, dtype


def _read_at_most(stream: IO[bytes], size: int) -> bytearray:
    """Up to ``size`` bytes, read in chunks so that memory grows only with the data really there."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _count_rest(stream: IO[bytes], limit: int) -> tuple[int, bool]:
    """How many bytes remain (up to ``limit``, discarded), and whether the end was reached."""
    count = 0
    while count < limit:
        chunk = stream.read(CHUNK)
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
        raise ValueError(f"write_idx stores arrays of rank 1 to {IDX_MAX_RANK}, got shape {data.shape}")
    if any(dim >= 2**32 for dim in data.shape) or data.nbytes > MAX_DATA_BYTES:
        raise ValueError(f"array of shape {data.shape} is too large for an IDX file")
    header = bytes([0, 0, code, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape)
    body = data.astype(IDX_DTYPES[code], copy=False).tobytes(order="C")
    with atomic_write(path) as out, (
            gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6, mtime=0)
            if path.suffix == ".gz" else contextlib.nullcontext(out)) as sink:
        sink.write(header)
        sink.write(body)
