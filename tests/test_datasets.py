"""Tests of deltaprop.datasets: IDX files, MNIST (local and downloaded), digits, .npz and .csv."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import os
import signal
import socket
import struct
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltaprop.datasets import (
    IDX_FILES,
    MAX_CLASSES,
    MAX_DATA_BYTES,
    Dataset,
    Split,
    load_csv,
    load_dataset,
    load_digits,
    load_idx_dir,
    load_mnist,
    load_npz,
    read_idx,
    write_idx,
)
from deltaprop.errors import DataFormatError, DownloadError

SHARED_MNIST = Path(__file__).parents[1] / "../shared/data/mnist"
IDX_DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]
FUZZ = settings(  # DELTAPROP_FUZZ_EXAMPLES=20000 for a deeper (slower) run
    max_examples=int(os.environ.get("DELTAPROP_FUZZ_EXAMPLES", "500")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def no_hang(seconds: float):
    """Raise TimeoutError (instead of hanging) if the block runs longer, where SIGALRM exists."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"ran longer than {seconds} s: something hangs")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def datasets_no_hang():
    """Fail (instead of hanging) if a test runs longer than 120 s."""
    with no_hang(120):
        yield


def idx_bytes(array: np.ndarray, tmp_path: Path, gz: bool = False) -> bytes:
    path = tmp_path / ("scratch.idx.gz" if gz else "scratch.idx")
    write_idx(path, array)
    data = path.read_bytes()
    path.unlink()
    return data


def make_idx_dir(
    folder: Path, n_train: int = 12, n_test: int = 6, gz: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    """Four small MNIST-like files (28x28 uint8 images, labels 0..9) in ``folder``."""
    rng = np.random.default_rng(seed)
    arrays = {
        IDX_FILES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        IDX_FILES[1]: (np.arange(n_train) % 10).astype(np.uint8),
        IDX_FILES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        IDX_FILES[3]: (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


# ---------------------------------------------------------------------------------------------
# IDX


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


# ---------------------------------------------------------------------------------------------
# MNIST and IDX folders


@pytest.mark.slow
def test_load_mnist_full(datasets_no_hang):
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"the official MNIST files are not at {SHARED_MNIST.resolve()}")
    start = time.perf_counter()
    data = load_mnist(SHARED_MNIST, download=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 30
    assert data.name == "mnist"
    assert data.train.X.shape == (50000, 784)
    assert data.validation.X.shape == (10000, 784)
    assert data.test.X.shape == (10000, 784)
    assert (data.train.y.shape, data.validation.y.shape, data.test.y.shape) == (
        (50000,),
        (10000,),
        (10000,),
    )
    assert data.n_classes == 10 and data.image_shape == (28, 28) and data.n_features == 784
    for split in (data.train, data.validation, data.test):
        assert split.X.dtype == np.float64 and split.y.dtype == np.int64
        assert split.X.min() == 0.0 and split.X.max() == 1.0
        counts = np.bincount(split.y, minlength=10)
        assert len(counts) == 10
        assert counts.min() > 0.07 * len(split.y) and counts.max() < 0.13 * len(split.y)
    # the famous first digits: a 5 in training, a 7 in t10k
    assert data.train.y[0] == 5 and data.test.y[0] == 7
    assert np.isclose(data.train.X.mean(), 0.1307, atol=1e-3)


def test_load_idx_dir_splits_and_scales(tmp_path):
    arrays = make_idx_dir(tmp_path / "small", n_train=30, n_test=7)
    data = load_idx_dir(tmp_path / "small", dtype="float32")
    assert isinstance(data, Dataset) and isinstance(data.train, Split)
    assert data.name == "small"
    assert data.train.X.shape == (25, 784) and data.validation.X.shape == (5, 784)
    assert data.test.X.shape == (7, 784)
    assert data.train.X.dtype == np.float32 and data.test.y.dtype == np.int64
    images = arrays[IDX_FILES[0]].reshape(30, 784)
    np.testing.assert_array_equal(data.train.X, (images[:25] / 255).astype(np.float32))
    np.testing.assert_array_equal(data.validation.y, arrays[IDX_FILES[1]][25:])
    assert data.n_classes == 10 and data.image_shape == (28, 28)
    explicit = load_idx_dir(tmp_path / "small", validation_size=0)
    assert explicit.train.X.shape == (30, 784) and explicit.validation.X.shape == (0, 784)
    with pytest.raises(ValueError, match="validation_size"):
        load_idx_dir(tmp_path / "small", validation_size=30)


def test_load_idx_dir_uncompressed_rank2_and_float(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    rng = np.random.default_rng(2)
    write_idx(folder / IDX_FILES[0], rng.normal(size=(12, 5)).astype(np.float32))
    write_idx(folder / IDX_FILES[1], np.array([0, 1, 2] * 4, dtype=np.int32))
    write_idx(folder / IDX_FILES[2], rng.normal(size=(3, 5)).astype(np.float32))
    write_idx(folder / IDX_FILES[3], np.array([2, 1, 0], dtype=np.uint8))
    data = load_idx_dir(folder)
    assert data.image_shape is None and data.n_classes == 3
    assert data.train.X.shape == (10, 5) and data.validation.X.shape == (2, 5)
    np.testing.assert_array_equal(data.test.X, read_idx(folder / IDX_FILES[2]).astype(np.float64))


def test_load_idx_dir_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_idx_dir(tmp_path / "absent")
    folder = tmp_path / "d"
    make_idx_dir(folder)
    (folder / f"{IDX_FILES[3]}.gz").unlink()
    with pytest.raises(FileNotFoundError, match=IDX_FILES[3]):
        load_idx_dir(folder)
    write_idx(folder / IDX_FILES[3], np.zeros(5, dtype=np.uint8))  # 5 labels for 6 images
    with pytest.raises(DataFormatError, match="5 labels for the 6 images"):
        load_idx_dir(folder)
    write_idx(folder / IDX_FILES[3], np.zeros(6, dtype=np.float32))
    with pytest.raises(DataFormatError, match="integer label"):
        load_idx_dir(folder)
    write_idx(folder / IDX_FILES[3], np.full(6, MAX_CLASSES, dtype=np.int32))
    with pytest.raises(DataFormatError, match="labels must be integers in"):
        load_idx_dir(folder)
    write_idx(folder / IDX_FILES[3], np.full(6, -1, dtype=np.int8))
    with pytest.raises(DataFormatError, match="-1"):
        load_idx_dir(folder)
    write_idx(folder / IDX_FILES[3], np.zeros(6, dtype=np.uint8))
    write_idx(folder / f"{IDX_FILES[2]}.gz", np.zeros((6, 27, 28), dtype=np.uint8))
    with pytest.raises(DataFormatError, match="756 features"):
        load_idx_dir(folder)
    with pytest.raises(ValueError, match="dtype"):
        load_idx_dir(folder, dtype="int32")


def test_load_mnist_local_files_need_no_network(tmp_path):
    make_idx_dir(tmp_path / "m", gz=False)
    data = load_mnist(tmp_path / "m", mirrors=["http://127.0.0.1:9/"], timeout=1)
    assert data.train.X.shape == (10, 784) and data.validation.X.shape == (2, 784)


def test_load_mnist_no_download_names_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "empty", download=False)
    assert str((tmp_path / "empty").absolute()) in str(info.value)
    assert "train-images-idx3-ubyte.gz" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Downloads from a local HTTP server


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        kind, body = self.server.routes.get(self.path, ("missing", b""))
        if kind == "missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "truncate" else body)

    def log_message(self, format, *args):
        pass


class LocalMirror:
    def __init__(self, server):
        self.server = server
        self.routes = server.routes
        self.requests = server.requests
        self.base = f"http://127.0.0.1:{server.server_address[1]}"

    def serve(self, prefix: str, files: dict[str, bytes], kind: str = "ok") -> str:
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}"] = (kind, body)
        return f"{self.base}/{prefix}/"


@pytest.fixture
def datasets_mirror(monkeypatch, datasets_no_hang):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MirrorHandler)
    server.routes = {}
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield LocalMirror(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def datasets_mnist_files(tmp_path):
    """Small MNIST-like .gz files (bytes) and the md5 of their uncompressed content."""
    arrays = make_idx_dir(tmp_path / "source")
    files, checksums = {}, {}
    for stem in IDX_FILES:
        compressed = (tmp_path / "source" / f"{stem}.gz").read_bytes()
        files[f"{stem}.gz"] = compressed
        checksums[stem] = hashlib.md5(gzip.decompress(compressed)).hexdigest()
    return files, checksums, arrays


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_download_good_files(tmp_path, datasets_mirror, datasets_mnist_files):
    files, checksums, arrays = datasets_mnist_files
    url = datasets_mirror.serve("good", files)
    cache = tmp_path / "cache" / "mnist"
    data = load_mnist(cache, mirrors=[url], checksums=checksums, timeout=5)
    assert sorted(p.name for p in cache.iterdir()) == sorted(files)
    assert data.train.X.shape == (10, 784) and data.test.X.shape == (6, 784)
    np.testing.assert_array_equal(data.test.X * 255, arrays[IDX_FILES[2]].reshape(6, 784))
    assert _leftovers(cache) == []
    # a second call reads the cache and does not download again
    count = len(datasets_mirror.requests)
    load_mnist(cache, mirrors=[url], checksums=checksums, timeout=5)
    assert len(datasets_mirror.requests) == count


def test_download_into_deltaprop_data(tmp_path, monkeypatch, datasets_mirror, datasets_mnist_files):
    files, checksums, _ = datasets_mnist_files
    url = datasets_mirror.serve("good", files)
    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "env"))
    data = load_mnist(mirrors=url, checksums=checksums, timeout=5)
    assert data.n_classes == 10
    assert (tmp_path / "env" / "mnist" / f"{IDX_FILES[0]}.gz").is_file()


def test_download_bad_checksum_leaves_nothing(tmp_path, datasets_mirror, datasets_mnist_files):
    files, checksums, _ = datasets_mnist_files
    url = datasets_mirror.serve("good", files)
    wrong = dict(checksums, **{IDX_FILES[0]: "0" * 32})
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        load_mnist(cache, mirrors=[url], checksums=wrong, timeout=5)
    message = str(info.value)
    assert "md5" in message and str(cache.absolute()) in message
    assert f"{IDX_FILES[0]}.gz" in message
    assert not (cache / f"{IDX_FILES[0]}.gz").exists()
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("failure", ["truncate", "missing", "garbage"])
def test_download_falls_back_to_second_mirror(
    tmp_path, datasets_mirror, datasets_mnist_files, failure
):
    files, checksums, _ = datasets_mnist_files
    if failure == "garbage":
        broken = datasets_mirror.serve("broken", {n: b"<html>not here</html>" for n in files})
    else:
        broken = datasets_mirror.serve("broken", files if failure == "truncate" else {}, failure)
    good = datasets_mirror.serve("good", files)
    cache = tmp_path / "cache"
    data = load_mnist(cache, mirrors=[broken, good], checksums=checksums, timeout=5)
    assert data.test.X.shape == (6, 784)
    for name in files:
        assert f"/broken/{name}" in datasets_mirror.requests
        assert f"/good/{name}" in datasets_mirror.requests
    assert _leftovers(cache) == []


def test_download_truncated_everywhere_raises(tmp_path, datasets_mirror, datasets_mnist_files):
    files, checksums, _ = datasets_mnist_files
    url = datasets_mirror.serve("broken", files, "truncate")
    with pytest.raises(DownloadError, match="truncated"):
        load_mnist(tmp_path / "c", mirrors=[url], checksums=checksums, timeout=5)
    assert list((tmp_path / "c").iterdir()) == []


def test_download_dead_server_says_where_to_put_files(tmp_path, datasets_no_hang):
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = tmp_path / "offline"
    start = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        load_mnist(cache, mirrors=[f"http://127.0.0.1:{port}/a/", f"http://127.0.0.1:{port}/b/"])
    assert time.perf_counter() - start < 20
    message = str(info.value)
    assert str(cache.absolute()) in message
    for stem in IDX_FILES:
        assert f"{stem}.gz" in message
    assert "/a/" in message and "/b/" in message
    assert isinstance(info.value, OSError)
    assert list(cache.iterdir()) == []


def test_download_with_no_mirrors(tmp_path):
    with pytest.raises(DownloadError, match="no mirrors given"):
        load_mnist(tmp_path / "x", mirrors=[])


# ---------------------------------------------------------------------------------------------
# digits


def test_load_digits():
    data = load_digits()
    assert data.name == "digits" and data.n_classes == 10 and data.image_shape == (8, 8)
    assert data.train.X.shape == (1257, 64)
    assert data.validation.X.shape == (270, 64) and data.test.X.shape == (270, 64)
    assert data.train.y.shape == (1257,) and data.train.y.dtype == np.int64
    assert data.train.X.dtype == np.float64
    everything = np.concatenate([data.train.X, data.validation.X, data.test.X])
    assert everything.min() == 0.0 and everything.max() == 1.0
    assert set(np.unique(everything * 16)) <= set(range(17))
    assert set(np.concatenate([data.train.y, data.validation.y, data.test.y])) == set(range(10))


def test_load_digits_deterministic_and_seeded():
    first, second = load_digits(seed=3), load_digits(seed=3)
    for a, b in zip(
        (first.train, first.validation, first.test),
        (second.train, second.validation, second.test),
        strict=True,
    ):
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
    other = load_digits(seed=4)
    assert not np.array_equal(first.train.y, other.train.y)


def test_load_digits_float32_and_bad_arguments():
    data = load_digits(dtype="float32")
    for split in (data.train, data.validation, data.test):
        assert split.X.dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        load_digits(dtype="float16")
    with pytest.raises(ValueError, match="seed"):
        load_digits(seed=-1)


# ---------------------------------------------------------------------------------------------
# .npz


def test_load_npz_good(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(0, 100, (40, 9))
    y = (np.arange(40) % 4).astype(np.float64)  # whole-number floats are fine
    path = tmp_path / "table.npz"
    np.savez_compressed(path, X=X, y=y, extra=np.zeros(2))
    data = load_npz(path, dtype="float32", seed=1)
    assert data.name == "table" and data.n_classes == 4 and data.image_shape == (3, 3)
    assert data.train.X.shape == (28, 9)
    assert data.validation.X.shape == (6, 9) and data.test.X.shape == (6, 9)
    assert data.train.X.dtype == np.float32 and data.train.y.dtype == np.int64
    rows = np.concatenate([data.train.X, data.validation.X, data.test.X])
    # not rescaled: the same rows, shuffled
    np.testing.assert_array_equal(np.sort(rows[:, 0]), np.sort(X[:, 0].astype(np.float32)))
    again = load_npz(path, dtype="float32", seed=1)
    np.testing.assert_array_equal(again.test.X, data.test.X)
    np.savez(tmp_path / "wide.npz", X=np.ones((5, 7), dtype=np.uint8), y=np.zeros(5, np.int16))
    assert load_npz(tmp_path / "wide.npz").image_shape is None


def _zip_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _npy(header: str, body: bytes = b"") -> bytes:
    text = header.encode("latin1")
    padding = 64 - (10 + len(text) + 1) % 64
    text += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body


def _npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("object", "Python objects"),
        ("missing-y", "no array named y"),
        ("nan", r"X\[1, 2\] = nan"),
        ("inf-float32", "not a finite float32"),
        ("ragged", r"y must have shape \(5,\)"),
        ("X-1d", "X must have shape"),
        ("negative", r"y\[3\] = -1"),
        ("fraction", r"y\[0\] = 0.5 is not a whole number"),
        ("complex", "must hold numbers"),
        ("npy", "single .npy array"),
        ("garbage", "not an .npz"),
        ("truncated", "npz"),
        ("lying-header", "declares shape"),
        ("huge-header", "declares shape"),
        ("raw-member", "not a .npy array"),
        ("too-many-classes", "labels must be integers in"),
    ],
)
def test_load_npz_bad(tmp_path, case, match):
    path = tmp_path / "bad.npz"
    X, y = np.ones((5, 3)), np.arange(5)
    if case == "object":
        np.savez(path, X=np.array([[1, "a", None]] * 5, dtype=object), y=y)
    elif case == "missing-y":
        np.savez(path, X=X)
    elif case == "nan":
        X[1, 2] = np.nan
        np.savez(path, X=X, y=y)
    elif case == "inf-float32":
        X[0, 0] = 1e300
        np.savez(path, X=X, y=y)
        with pytest.raises(DataFormatError, match=match):
            load_npz(path, dtype="float32")
        return
    elif case == "ragged":
        np.savez(path, X=X, y=np.arange(4))
    elif case == "X-1d":
        np.savez(path, X=np.ones(5), y=y)
    elif case == "negative":
        np.savez(path, X=X, y=np.array([0, 1, 2, -1, 0]))
    elif case == "fraction":
        np.savez(path, X=X, y=np.full(5, 0.5))
    elif case == "complex":
        np.savez(path, X=X.astype(complex), y=y)
    elif case == "npy":
        np.save(path.with_suffix(".npy"), X)
        path.with_suffix(".npy").rename(path)
    elif case == "garbage":
        path.write_bytes(b"hello, world")
    elif case == "truncated":
        np.savez_compressed(path, X=X, y=y)
        path.write_bytes(path.read_bytes()[:-40])
    elif case == "lying-header":
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 2), }"
        path.write_bytes(_zip_with({"X.npy": _npy(header, bytes(16)), "y.npy": _npy_of(y)}))
    elif case == "huge-header":
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (10**12, 10**12), }"
        header = header.replace("10**12", str(10**12))
        path.write_bytes(_zip_with({"X.npy": _npy(header), "y.npy": _npy_of(y)}))
    elif case == "raw-member":
        path.write_bytes(_zip_with({"X": b"\x00" * 40, "y.npy": _npy_of(y)}))
    elif case == "too-many-classes":
        np.savez(path, X=X, y=np.full(5, MAX_CLASSES, dtype=np.uint64))
    with pytest.raises(DataFormatError, match=match) as info:
        load_npz(path)
    assert "bad.npz" in str(info.value)


def test_load_npz_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_npz(tmp_path / "absent.npz")


# ---------------------------------------------------------------------------------------------
# .csv


def test_load_csv_good(tmp_path):
    rows = [f"{i * 0.5},{i % 3},{-i}" for i in range(20)]
    text = "\ufeff f1 ,label,f2\n" + "\n".join(rows[:10]) + "\n\n" + "\n".join(rows[10:]) + "\n"
    path = tmp_path / "points.csv"
    path.write_text(text, encoding="utf-8")
    data = load_csv(path, seed=2)
    assert data.name == "points" and data.n_classes == 3 and data.image_shape is None
    assert data.train.X.shape == (14, 2) and data.validation.X.shape == (3, 2)
    assert data.test.X.shape == (3, 2)
    everything = np.concatenate([data.train.X, data.validation.X, data.test.X])
    labels = np.concatenate([data.train.y, data.validation.y, data.test.y])
    order = np.argsort(everything[:, 0])
    np.testing.assert_array_equal(everything[order, 0], np.arange(20) * 0.5)  # not rescaled
    np.testing.assert_array_equal(everything[order, 1], -np.arange(20))
    np.testing.assert_array_equal(labels[order], np.arange(20) % 3)
    assert load_csv(path, dtype="float32").train.X.dtype == np.float32


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("a,b\n1,2\n", "no 'label' column"),
        ("label,label\n1,2\n", "2 'label' columns"),
        ("label\n1\n", "no feature columns"),
        ("x,label\n", "no data rows"),
        ("x,label\n1,0\n2,zero\n", r"line 3, column 2 \('label'\): 'zero' is not a number"),
        ("x,y,label\n1,2,0\n1,,0\n", r"line 3, column 2 \('y'\): '' is not a number"),
        ("x,label\n1,0\n1,0,3\n", "line 3: 3 fields, expected 2"),
        ("x,label\n1,0\n\n1\n", "line 4: 1 fields"),
        ("x,label\n1,0\nnan,1\n", r"line 3, column 1 \('x'\): nan is not a finite"),
        ("x,label\n1,0\n1,inf\n", "line 3, column 2"),
        ("x,label\n1,0\n1,-2\n", "line 3, column 'label' = -2"),
        ("x,label\n1,1.5\n", "line 2, column 'label' = 1.5 is not a whole number"),
        ('x,label\n"1,0\n', "line 2: 1 fields"),
    ],
)
def test_load_csv_bad(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=match) as info:
        load_csv(path)
    assert "bad.csv" in str(info.value)


def test_load_csv_not_utf8_and_missing(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"x,label\n\xff\xfe,1\n")
    with pytest.raises(DataFormatError, match="UTF-8"):
        load_csv(path)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_csv(tmp_path / "absent.csv")
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path)


def test_csv_whole_number_labels_and_square_features(tmp_path):
    path = tmp_path / "sq.csv"
    path.write_text("a,b,c,d,label\n" + "0,1,2,3,1.0\n" * 7 + "0,1,2,3,4e0\n", encoding="utf-8")
    data = load_csv(path)
    assert data.image_shape == (2, 2) and data.n_classes == 5


# ---------------------------------------------------------------------------------------------
# load_dataset


def test_load_dataset_forms(tmp_path):
    assert load_dataset("digits").train.X.shape == (1257, 64)
    assert load_dataset("DIGITS", dtype="float32").train.X.dtype == np.float32
    make_idx_dir(tmp_path / "idx")
    assert load_dataset(f"idx:{tmp_path / 'idx'}").test.X.shape == (6, 784)
    assert load_dataset("mnist", data_dir=tmp_path / "idx").name == "mnist"
    np.savez(tmp_path / "t.npz", X=np.ones((10, 2)), y=np.zeros(10, np.int64))
    assert load_dataset(str(tmp_path / "t.npz")).n_features == 2
    (tmp_path / "t.csv").write_text("x,label\n" + "1,0\n" * 10, encoding="utf-8")
    assert load_dataset(tmp_path / "t.csv").n_features == 1


def test_load_dataset_errors(tmp_path):
    for spec in ["iris", "idx:", "data.txt", ""]:
        with pytest.raises(ValueError, match="'digits'.*'mnist'.*'idx:DIR'.*.npz.*.csv"):
            load_dataset(spec)
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_dataset(str(tmp_path / "absent.npz"))
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_dataset(str(tmp_path / "absent.csv"))
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_dataset(f"idx:{tmp_path / 'nowhere'}")
    with pytest.raises(TypeError):
        load_dataset(3)


# ---------------------------------------------------------------------------------------------
# Fuzzing: malformed input raises only the documented errors, and nothing hangs


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
    return bytes(data)


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


def _valid_csv() -> list[bytes]:
    return [
        b"x,label,y\n1,0,2\n3.5,1,-4\n5e1,2,6\n7,0,8\n",
        b"\xef\xbb\xbflabel,a\n0,1\n1,2\n\n2,3\n",
        b'"x","label"\n"1","1"\n"2","0"\n',
    ]


csv_texts = st.text(alphabet="0123456789.,-+eE\n\r \"\tlabenif\x00;", max_size=120)


@FUZZ
@given(
    data=st.one_of(
        mutated(_valid_csv()),
        csv_texts.map(lambda text: ("x,label\n" + text).encode()),
        csv_texts.map(str.encode),
        st.binary(max_size=80),
    )
)
def test_fuzz_load_csv(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        with no_hang(10):
            dataset = load_csv(path)
    except DataFormatError:
        return
    rows = np.concatenate([dataset.train.X, dataset.validation.X, dataset.test.X])
    labels = np.concatenate([dataset.train.y, dataset.validation.y, dataset.test.y])
    assert np.all(np.isfinite(rows)) and labels.dtype == np.int64 and labels.min() >= 0
    assert dataset.n_classes == labels.max() + 1


def _valid_npz() -> list[bytes]:
    seeds = []
    X, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 1, 0])
    for save in (np.savez, np.savez_compressed):
        buffer = io.BytesIO()
        save(buffer, X=X, y=y)
        seeds.append(buffer.getvalue())
    return seeds


npy_headers = st.builds(
    lambda descr, shape, body: _npy(
        f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {tuple(shape)!r}, }}", body
    ),
    st.sampled_from(["<f8", "|u1", "<i8", "|O", "<c16", "V8", "<U3", ">f4", "|b1", "nope"]),
    st.lists(st.integers(-3, 2**40), max_size=3),
    st.binary(max_size=48),
)
zip_archives = st.dictionaries(
    st.sampled_from(["X.npy", "y.npy", "X", "y", "z.npy"]),
    st.one_of(npy_headers, st.binary(max_size=40)),
    max_size=3,
).map(_zip_with)


@FUZZ
@given(data=st.one_of(mutated(_valid_npz()), zip_archives, st.binary(max_size=80)))
def test_fuzz_load_npz(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        with no_hang(10):
            dataset = load_npz(path)
    except DataFormatError:
        return
    assert dataset.train.X.ndim == 2 and np.all(np.isfinite(dataset.train.X))
    assert dataset.train.y.dtype == np.int64


def test_fuzz_paths(tmp_path):
    # a missing path is FileNotFoundError for every loader, never DataFormatError
    for loader in (read_idx, load_csv, load_npz):
        with pytest.raises(FileNotFoundError):
            loader(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        load_idx_dir(tmp_path / "missing")
