"""Hostile files: each class of the reliability issue, built small on the fly, refused in one line.

Every generator writes a few MB at most (sparse files, deflate streams of zeros repeated block by
block, headers that promise what is not there). Each file goes through the library in-process,
where that is safe, and through the command line in a subprocess whose address space is limited
(``RLIMIT_AS``): the command must exit with status 2 and at most 3 lines on stderr naming the
problem, without a traceback or a warning, within a time limit, leaving every file it was given as
it was and creating nothing. The limits are those of ``deltaprop.limits`` (``docs/limits.md``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io as bytes_io
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deltaprop import cli, io, limits
from deltaprop.checkpoint import load_checkpoint
from deltaprop.datasets import load_idx_dir, load_npz, read_image, read_npy_rows, write_idx
from deltaprop.errors import DataFormatError, ModelFormatError

ADDRESS_SPACE = 3 * 2**30  # numpy, pydantic and deltaprop need about 0.3 GiB of it to start
CLI_SECONDS = 30
RESERVED = ("format_version", "sizes", "activations", "cost", "dtype", "training",
            "deltaprop_version", "slots")


# -- running and checking -------------------------------------------------------------------------


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``folder``: size, modification time and a digest of its first MB."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as file:
                digest = hashlib.blake2b(file.read(2**20)).hexdigest()
            files[str(path.relative_to(folder))] = (path.stat().st_size, path.stat().st_mtime_ns, digest)
    return files


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m deltaprop ARGS`` in ``folder`` under the address-space limit; checks that it
    neither changed nor created a file there."""
    before = snapshot(folder)
    env = {key: value for key, value in os.environ.items() if key != "DELTAPROP_DEBUG"}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="default")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "deltaprop", *args], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=CLI_SECONDS,
                            preexec_fn=_limit_address_space)
    result.seconds = time.monotonic() - started  # type: ignore[attr-defined]
    assert snapshot(folder) == before, "the command changed or created files"
    return result


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit status 2, at most 3 short lines on stderr naming the problem, nothing else."""
    stderr = result.stderr
    assert result.returncode == 2, (result.returncode, stderr[-2000:])
    lines = stderr.strip().splitlines()
    assert 1 <= len(lines) <= 3, stderr[-2000:]
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr[-2000:]
    assert all(len(line) <= 400 for line in lines), [len(line) for line in lines]
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)


@contextlib.contextmanager
def refused(error: type[Exception], *fragments: str, seconds: float = 10.0):
    """The block raises ``error`` with a message of at most 300 characters holding ``fragments``,
    within ``seconds``."""
    started = time.monotonic()
    with pytest.raises(error) as info:
        yield
    message = str(info.value)
    assert len(message) <= limits.MAX_MESSAGE_CHARS and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert time.monotonic() - started < seconds


# -- generators -----------------------------------------------------------------------------------


def deflate_zeros(prefix: bytes, zeros: int, wbits: int = -15) -> bytes:
    """A deflate stream of ``prefix`` then ``zeros`` zero bytes, made from one compressed MiB of
    zeros repeated (full flushes make the blocks identical): ~1 kB per MiB, at no cost."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(zeros, 2**20)
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    return head + block * whole + tail


def gzip_zeros(prefix: bytes, zeros: int) -> bytes:
    """A gzip member of ``prefix`` and ``zeros`` zero bytes. Its CRC is left 0: a reader that checks
    the header against the limits never gets that far."""
    total = len(prefix) + zeros
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflate_zeros(prefix, zeros)
            + struct.pack("<II", 0, total % 2**32))


def idx_header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    stream = bytes_io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return stream.getvalue()


def zip_archive(members: dict[str, tuple[bytes, int, int, int]]) -> bytes:
    """A zip file of (name -> (stored data, method, uncompressed size, crc)), written by hand so
    that its directory may promise sizes its data only produce when decompressed."""
    local, central = b"", b""
    for name, (data, method, size, crc) in members.items():
        fields = struct.pack("<HHHHHIII", 20, 0, method, 0, 0x21, crc, len(data), size)
        central += (struct.pack("<IH", 0x02014B50, 20) + fields
                    + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, len(local)) + name.encode())
        local += struct.pack("<I", 0x04034B50) + fields + struct.pack("<HH", len(name), 0)
        local += name.encode() + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(local), 0)
    return local + central + end


def stored_member(data: bytes) -> tuple[bytes, int, int, int]:
    return data, 0, len(data), zlib.crc32(data)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height 8-bit gray pixels, with one tiny IDAT chunk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(bytes(width + 1))) + png_chunk(b"IEND", b""))


def model_bytes(meta: dict[str, Any] | str, tensors: dict[str, dict[str, Any]] | None = None,
                data: bytes = b"") -> bytes:
    """A safetensors file with the given deltaprop metadata (object or raw JSON), tensor entries
    and data, written by hand."""
    text = meta if isinstance(meta, str) else json.dumps(meta)
    header = json.dumps({"__metadata__": {"deltaprop": text}, **(tensors or {})}).encode()
    return struct.pack("<Q", len(header)) + header + data


def valid_meta(sizes: list[int], activation: str = "sigmoid") -> dict[str, Any]:
    return {"format_version": 1, "sizes": sizes, "activations": [activation] * (len(sizes) - 1),
            "cost": "quadratic", "dtype": "float32", "training": {}, "deltaprop_version": "0.1.0"}


def sparse_model(path: Path, n: int) -> None:
    """A valid float32 model [n, n]: its header, then n*n + n zero floats as a hole in the file."""
    weight, bias = 4 * n * n, 4 * n
    tensors = {"layers.0.weight": {"dtype": "F32", "shape": [n, n], "data_offsets": [0, weight]},
               "layers.0.bias": {"dtype": "F32", "shape": [n], "data_offsets": [weight, weight + bias]}}
    head = model_bytes(valid_meta([n, n]), tensors)
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(len(head) + weight + bias)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A model of the digits (64 inputs) and the checkpoint directory of its run, run folder gone."""
    base = tmp_path_factory.mktemp("trained")
    out, stderr = bytes_io.StringIO(), bytes_io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(stderr):
        code = cli.main(["train", "--epochs", "2", "--quiet", "--no-plots", "--momentum", "0.5",
                         "--out", str(base / "run"), "--checkpoint-dir", str(base / "ck")])
    assert code == 0, stderr.getvalue()
    shutil.move(base / "run" / "model.safetensors", base / "model.safetensors")
    shutil.rmtree(base / "run")
    return {"model": base / "model.safetensors", "checkpoint": base / "ck"}


def _tampered(trained: dict[str, Path], folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the trained checkpoint whose state ``change`` edited (in place)."""
    target = folder / "ck"
    shutil.copytree(trained["checkpoint"], target)
    path = target / "checkpoint.safetensors"
    net, meta, slots = io.load_with_metadata(path)
    change(meta["checkpoint"])
    io.save(net, path, extra_metadata={k: v for k, v in meta.items() if k not in RESERVED}, slots=slots)
    return target


# -- checkpoints: every field validated -----------------------------------------------------------

TAMPERINGS = {
    "rng -1": (lambda s: s["rng"]["state"].update(state=-1), "'rng.state.state'"),
    "rng 2**200": (lambda s: s["rng"]["state"].update(state=2**200), "'rng.state.state'"),
    "records a string": (lambda s: s["history"].update(records="abc"), "'history.records'"),
    "records ints": (lambda s: s["history"].update(records=[1, 2]), "'history.records.0'"),
    # an option the file lacks takes its default (files predating it); momentum 0 then keeps no
    # velocity, which this file holds
    "missing option": (lambda s: s["config"].pop("momentum"), "but sgd keeps none"),
    "epoch 10**6": (lambda s: s.update(epoch=10**6, history={"records": [], "stop_reason": "completed"}),
                    "'epoch' is 1000000"),
    "eta -1": (lambda s: s["optimizer"].update(eta=-1), "'optimizer.eta'"),
    "data {}": (lambda s: s.update(data={}), "'data.rows'"),
    "slots of adam": (lambda s: s["optimizer"].update(name="adam", t=0), "'optimizer.name' is 'adam'"),
}


@pytest.mark.parametrize("case", list(TAMPERINGS), ids=list(TAMPERINGS))
def test_tampered_checkpoints_are_refused_naming_the_field(trained, tmp_path, case) -> None:
    change, fragment = TAMPERINGS[case]
    directory = _tampered(trained, tmp_path, change)
    with refused(ModelFormatError, "checkpoint", fragment):
        load_checkpoint(directory)
    assert_refused(run_cli(tmp_path, "train", "--resume", "ck", "--quiet"), fragment)


# -- model files: sizes, layers, names, nesting, parameters ---------------------------------------


def _model_cases(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    files = {
        "8 million sizes": ('{"format_version": 1, "sizes": [' + ",".join(["1"] * 8_000_000) + "]}",
                            ["holds about 8,000,0", "values, more than the limit of 4,000,000"]),
        "500,000 layers": (valid_meta([1] * 500_001, "linear"),
                           ["'sizes'", "at most 1001 items, not 500001", "<list of 500,001 items>"]),
        "nested 500 deep": ({**valid_meta([1, 1]), "x": json.loads(nested(500))},
                            ["nested 501 deep, more than the limit of 32"]),
        "missing 2,000 tensors": (valid_meta([1] * 1001, "linear"),
                                  ["missing tensors 'layers.0.bias'", "and 1,995 more"]),
    }
    cases = {}
    for name, (meta, fragments) in files.items():
        path = tmp_path / (name.replace(" ", "_").replace(",", "") + ".safetensors")
        path.write_bytes(model_bytes(meta))
        cases[name] = path, fragments
    names = {f"x.{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(100_000)}
    path = tmp_path / "names.safetensors"
    path.write_bytes(model_bytes(valid_meta([1, 1]), names))
    cases["100,000 unknown tensors"] = path, ["100,000 tensors, more than the limit of 18,000"]
    return cases


def test_model_files_beyond_the_limits_are_refused_in_one_short_line(tmp_path) -> None:
    for name, (path, fragments) in _model_cases(tmp_path).items():
        for read in (io.read_metadata, io.load):
            with refused(ModelFormatError, path.name, *fragments):
                read(path)
        assert_refused(run_cli(tmp_path, "info", "--json", path.name), path.name, *fragments)
        assert path.stat().st_size < 20e6, name


def test_a_sparse_4_gb_model_is_refused_before_allocating(tmp_path, monkeypatch) -> None:
    path = tmp_path / "sparse.safetensors"
    sparse_model(path, 31_250)  # 3.9 GB of float32 parameters, all a hole in the file
    assert os.stat(path).st_blocks * 512 < 2**20
    assert io.read_metadata(path)["sizes"] == [31_250, 31_250]  # the header alone is fine
    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)
    with refused(ModelFormatError, "loading its 976,593,750 parameters would need 7.81 GB of memory"):
        io.load(path)
    assert_refused(run_cli(tmp_path, "info", path.name), "would need 7.81 GB of memory")


# -- data files: promised sizes checked before allocating ------------------------------------------


def _idx_folder(folder: Path, images: bytes, labels: bytes) -> Path:
    folder.mkdir()
    small = np.zeros((10, 28, 28), np.uint8)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(images)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(labels)
    write_idx(folder / "t10k-images-idx3-ubyte", small)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(10, dtype=np.uint8))
    return folder


def test_a_2_mb_gzip_idx_promising_2_gb_of_pixels_is_refused_from_its_header(tmp_path) -> None:
    rows = 2_000_000_000 // 784
    images = gzip_zeros(idx_header(0x08, (rows, 28, 28)), rows * 784)
    labels = gzip_zeros(idx_header(0x08, (rows,)), rows)
    folder = _idx_folder(tmp_path / "bomb", images, labels)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 3e6
    fragments = ["train-images-idx3-ubyte.gz: 2,551,020 images of 784 values as float64",
                 "more than the limit of 4.29 GB"]
    with refused(DataFormatError, *fragments, seconds=2):
        load_idx_dir(folder)
    assert_refused(run_cli(tmp_path, "train", "--data", "idx:bomb", "--out", "run", "--quiet"),
                   *fragments)


def test_one_mnist_label_of_9999_is_refused_not_a_10000_unit_layer(tmp_path) -> None:
    folder = tmp_path / "digits"
    folder.mkdir()
    rng = np.random.default_rng(0)
    labels = np.arange(60, dtype=np.int32) % 10
    labels[17] = 9999
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (60, 28, 28), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", labels)
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10, 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(10, dtype=np.int32))
    fragments = ["label 17 = 9999 would make 10000 classes", "only 11 distinct values"]
    with refused(DataFormatError, *fragments):
        load_idx_dir(folder)
    assert_refused(run_cli(tmp_path, "train", "--data", "idx:digits", "--out", "run", "--quiet"),
                   *fragments)


def test_a_2_mb_zip_bomb_npz_is_refused_before_decompressing(tmp_path, trained) -> None:
    rows, columns = 50_000, 40_000  # 2 GB of uint8 pixels, 16 GB as float64
    header = npy_header((rows, columns), "|u1")
    bomb = deflate_zeros(header, rows * columns)
    y = npy_header((rows,), "|u1") + bytes(rows)
    path = tmp_path / "bomb.npz"
    path.write_bytes(zip_archive({"X.npy": (bomb, 8, len(header) + rows * columns, 0),
                                  "y.npy": stored_member(y)}))
    assert path.stat().st_size < 3e6
    fragments = ["bomb.npz: arrays X (50000, 40000) and y (50000,) as float64 would need 34 GB",
                 "more than the limit of 4.29 GB"]
    with refused(DataFormatError, *fragments, seconds=2):
        load_npz(path)
    shutil.copy(trained["model"], tmp_path / "model.safetensors")
    assert_refused(run_cli(tmp_path, "train", "--data", "bomb.npz", "--out", "run", "--quiet"),
                   *fragments)
    assert_refused(run_cli(tmp_path, "evaluate", "model.safetensors", "--data", "bomb.npz"), *fragments)


NPY_CASES = {
    "10**12 rows": ((10**12, 64), "declares shape (1000000000000, 64) of float64"),
    "10**12 rows of nothing": ((10**12, 0, 64), "declares shape (1000000000000, 0, 64)"),
}


@pytest.mark.parametrize("case", list(NPY_CASES), ids=list(NPY_CASES))
def test_npy_headers_promising_terabytes_are_refused(tmp_path, trained, case) -> None:
    shape, fragment = NPY_CASES[case]
    path = tmp_path / "rows.npy"
    path.write_bytes(npy_header(shape, "<f8") + bytes(64 * 8))
    with refused(DataFormatError, "rows.npy", fragment):
        read_npy_rows(path, 64)
    shutil.copy(trained["model"], tmp_path / "model.safetensors")
    assert_refused(run_cli(tmp_path, "predict", "model.safetensors", "rows.npy"), fragment)


def test_a_20000_by_20000_png_is_refused_from_its_header(tmp_path, trained) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(20_000, 20_000))
    fragment = "the image is 20000 x 20000 = 400,000,000 pixels, more than the limit of 16,777,216"
    with refused(DataFormatError, fragment):
        read_image(path, (8, 8))
    shutil.copy(trained["model"], tmp_path / "model.safetensors")
    assert_refused(run_cli(tmp_path, "predict", "model.safetensors", "huge.png"), fragment)


def test_the_memory_available_counts_the_address_space_limit() -> None:
    code = ("import resource; from deltaprop import limits; "
            f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE})); "
            "print(limits.available_memory())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    available = int(result.stdout)
    assert 0 < available < ADDRESS_SPACE
    assert limits.available_memory() is None or limits.available_memory() > 0
