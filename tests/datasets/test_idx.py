"""Tests of deltaprop.datasets.idx: reading and writing IDX files, raw or gzip-compressed."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from datasets_support import (
    FUZZ,
    IDX_DTYPES,
    idx_bytes,
    mutated,
    no_hang,
)
from hypothesis import given
from hypothesis import strategies as st

from deltaprop.datasets import (
    MAX_DATA_BYTES,
    read_idx,
    write_idx,
)
from deltaprop.errors import DataFormatError


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", IDX_DTYPES)
def test_idx_round_trip(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    for shape in [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2)]:
        array = (rng.normal(0, 50, shape)).astype(dtype)
        path = tmp_path / (f"a{len(shape)}.idx" + (".gz" if gz else ""))
        write_idx(path, array)
        back = read_idx(path)
        assert back.dtype == np.dtype(dtype)
        assert back.dtype.isnative
        assert back.shape == shape
        np.testing.assert_array_equal(back, array)
        assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz


def test_idx_header_bytes_and_big_endian(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.array([[1, 2, 3], [4, 5, 256]], dtype=np.int16))
    assert path.read_bytes() == (
        b"\x00\x00\x0b\x02" + struct.pack(">II", 2, 3) + struct.pack(">6h", 1, 2, 3, 4, 5, 256)
    )


def test_idx_gzip_detected_by_magic_not_suffix(tmp_path):
    path = tmp_path / "x.idx.gz"
    write_idx(path, np.arange(10, dtype=np.uint8))
    renamed = path.rename(tmp_path / "no-suffix")
    np.testing.assert_array_equal(read_idx(renamed), np.arange(10))


def test_idx_empty_dimension_round_trips(tmp_path):
    write_idx(tmp_path / "e.idx", np.zeros((0, 3), dtype=np.float32))
    assert read_idx(tmp_path / "e.idx").shape == (0, 3)


@pytest.mark.parametrize(
    "array",
    [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool), np.zeros((1,) * 5, dtype=np.uint8)],
    ids=["int64", "bool", "rank5"],
)
def test_write_idx_rejects_unsupported(tmp_path, array):
    with pytest.raises(ValueError):
        write_idx(tmp_path / "x.idx", array)
    assert list(tmp_path.iterdir()) == []


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.idx"):
        read_idx(tmp_path / "nothing.idx")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_truncated_and_extra_bytes(tmp_path, gz):
    raw = idx_bytes(np.arange(20, dtype=np.int32).reshape(4, 5), tmp_path)
    path = tmp_path / "bad.idx"
    for data, actual in [(raw[:-1], 79), (raw + b"\x00\x01", 82)]:
        path.write_bytes(gzip.compress(data) if gz else data)
        with pytest.raises(DataFormatError) as info:
            read_idx(path)
        message = str(info.value)
        assert "bad.idx" in message
        assert "80 data bytes" in message
        assert f"holds {actual} data bytes" in message


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "truncated IDX header"),
        (b"\x00\x00\x08", "truncated IDX header"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x01\x05", "unknown IDX type code 0x0A"),
        (b"\x00\x00\x08\x00", "rank 0"),
        (b"\x00\x00\x08\x05" + b"\x00\x00\x00\x01" * 5 + b"\x00", "rank 5"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00\x0e\x02" + struct.pack(">II", 2**31, 2**31), "more than the limit"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 2**32 - 1), "more than the limit"),
    ],
    ids=[
        "empty",
        "short",
        "magic",
        "code",
        "rank0",
        "rank5",
        "dims-cut",
        "absurd",
        "uint32-max",
    ],
)
def test_idx_bad_headers(tmp_path, data, match):
    path = tmp_path / "bad.idx"
    for content in (data, gzip.compress(data)):
        path.write_bytes(content)
        with pytest.raises(DataFormatError, match=match):
            read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_lying_header_is_rejected_without_allocating(tmp_path, gz):
    # declares 2**31 bytes (exactly the limit) but holds 10
    data = b"\x00\x00\x08\x02" + struct.pack(">II", 2**16, 2**15) + bytes(10)
    path = tmp_path / "liar.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match=f"{2**31} data bytes.*holds 10 data bytes"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_idx_gzip_bomb_reads_bounded(tmp_path):
    # 1000 declared bytes followed by 70 MiB of zeros that compress to ~70 KiB
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 1000))]
    zeros = bytes(2**20)
    parts += [compressor.compress(zeros) for _ in range(70)]
    parts.append(compressor.flush())
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match="holds more than"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


@pytest.mark.parametrize("cut", ["middle", "tail", "crc"])
def test_idx_corrupt_gzip(tmp_path, cut):
    raw = idx_bytes(np.arange(3000, dtype=np.int32), tmp_path)
    data = bytearray(gzip.compress(raw))
    if cut == "middle":
        for i in range(20, 40):
            data[i] ^= 0x5A
    elif cut == "tail":
        data = data[: len(data) // 2]
    else:
        data[-6] ^= 0xFF  # the CRC-32 in the trailer
    path = tmp_path / "corrupt.idx.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="corrupt.idx.gz"):
        read_idx(path)


def _seed_idx_files() -> list[bytes]:
    seeds = []
    for dtype, shape in [("uint8", (3, 2, 2)), ("int16", (4,)), ("float64", (2, 3))]:
        raw = bytearray([0, 0, {"uint8": 8, "int16": 0x0B, "float64": 0x0E}[dtype], len(shape)])
        raw += struct.pack(f">{len(shape)}I", *shape)
        raw += np.arange(int(np.prod(shape))).astype(np.dtype(dtype).newbyteorder(">")).tobytes()
        seeds += [bytes(raw), gzip.compress(bytes(raw), mtime=0)]
    return seeds


idx_headers = st.builds(
    lambda code, dims, body: bytes([0, 0, code, len(dims)])
    + struct.pack(f">{len(dims)}I", *dims)
    + body,
    st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x0A, 0xFF]),
    st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2**32 - 1)), max_size=6),
    st.binary(max_size=40),
)


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=120), mutated(_seed_idx_files()), idx_headers),
    gz=st.booleans(),
)
def test_fuzz_read_idx(tmp_path, data, gz):
    path = tmp_path / "fuzz.idx"
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    try:
        with no_hang(10):
            array = read_idx(path)
    except DataFormatError:
        return
    assert isinstance(array, np.ndarray) and 1 <= array.ndim <= 4
    assert array.nbytes <= MAX_DATA_BYTES and array.dtype.isnative
