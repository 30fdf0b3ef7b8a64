"""Bounded work: inputs whose headers or options ask for far more memory or time than they are
worth (issue 18, point 4), each generated small on the fly and refused in one line, exit 2,
quickly, under the harness's address-space limit (``harness.ADDRESS_SPACE``)."""

from __future__ import annotations

import io as bytes_io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from deltaprop import io as model_io
from deltaprop.network import Network
from tests.hostile.harness import run

QUICK = 20.0  # seconds: every refusal here comes before any real work


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def gray_png(width: int, height: int) -> bytes:
    """A valid all-white 8-bit gray PNG of width x height, its pixels deflated (a few kB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    stream = bytes_io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return stream.getvalue()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small untrained model of 28x28 inputs (prediction needs no training)."""
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    model_io.save(Network([784, 10], seed=0), path)
    return path


def refused(argv: list[str], cwd: Path, *fragments: str) -> str:
    outcome = run(argv, cwd)
    outcome.check(2, max_seconds=QUICK)
    line = outcome.err.strip()
    assert len(line.splitlines()) == 1, line
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.mark.parametrize("size", [(1, 4_000_000), (4_000_000, 1)], ids=["wide", "tall"])
@pytest.mark.parametrize("prepare", ["digit", "resize"])
def test_a_png_of_extreme_aspect_is_refused_from_its_header(tmp_path, model, size, prepare) -> None:
    width, height = size
    (tmp_path / "thin.png").write_bytes(gray_png(width, height))
    assert (tmp_path / "thin.png").stat().st_size < 64_000
    refused(["predict", model, "thin.png", "--prepare", prepare], tmp_path,
            "thin.png", f"{width} x {height}", "aspect")


def test_a_long_image_within_the_limits_is_prepared_in_bounded_memory(tmp_path, model) -> None:
    (tmp_path / "long.png").write_bytes(gray_png(40_000, 400))
    for prepare in ("digit", "resize"):
        outcome = run(["predict", model, "long.png", "--prepare", prepare], tmp_path)
        outcome.check(0)


def test_an_npz_member_claiming_a_huge_shape_is_refused(tmp_path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("X.npy", npy_header((10**9, 10**6)) + bytes(64))
        archive.writestr("y.npy", npy_header((10**9,), "<i8") + bytes(64))
    refused(["train", "--data", "huge.npz", "--epochs", "1", "--quiet", "--no-plots", "--out", "run"],
            tmp_path, "huge.npz")


def test_an_npy_claiming_a_huge_shape_is_refused(tmp_path, model) -> None:
    (tmp_path / "rows.npy").write_bytes(npy_header((10**9, 784)) + bytes(64))
    refused(["predict", model, "rows.npy"], tmp_path, "rows.npy")


@pytest.mark.parametrize("option", [["--rows", "1e10"], ["--rows", "10000000000"],
                                    ["--rows", "100000000"], ["--eps", "1e308"], ["--eps", "nan"],
                                    ["--eps", "inf"], ["--eps", "0.5"]],
                         ids=["rows-1e10", "rows-10**10", "rows-10**8", "eps-1e308", "eps-nan",
                              "eps-inf", "eps-0.5"])
def test_gradcheck_rows_and_eps_are_bounded(tmp_path, option) -> None:
    line = refused(["gradcheck", *option], tmp_path)
    assert option[0] in line, line


@pytest.mark.parametrize("command", ["gradcheck", "explain"])
def test_sizes_beyond_the_network_limits_are_refused(tmp_path, command) -> None:
    line = refused([command, "--sizes", ",".join(["2"] * 2_001)], tmp_path, "--sizes", "1,000")
    assert "2,000 layers" in line, line


@pytest.mark.parametrize("command", ["gradcheck", "explain"])
def test_sizes_beyond_memory_are_refused(tmp_path, command) -> None:
    refused([command, "--sizes", "100000,100000,10"], tmp_path, "100000", "would need")


def test_train_with_a_hidden_layer_beyond_memory_is_refused(tmp_path) -> None:
    refused(["train", "--hidden", "100000", "--epochs", "1", "--quiet", "--no-plots", "--out", "run"],
            tmp_path, "100000")


def test_a_csv_of_huge_values_is_refused_in_one_line(tmp_path) -> None:
    rows = ["a,b,label"] + [f"{sign}1e308,{sign}1e308,{i % 2}" for i in range(40) for sign in "-+"]
    (tmp_path / "huge.csv").write_text("\n".join(rows) + "\n")
    refused(["train", "--data", "huge.csv", "--epochs", "1", "--quiet", "--no-plots", "--out", "run"],
            tmp_path, "huge.csv")
