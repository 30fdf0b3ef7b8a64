"""Bounded work in the library (issue 18, point 4): area resizing without weight matrices or padded
copies, pictures sized from their header, feature magnitudes, gradcheck's and explain's limits,
and the memory a training run counts."""

from __future__ import annotations

import io as bytes_io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from deltaprop import limits
from deltaprop.datasets import load_npz
from deltaprop.datasets.images import area_resize, preparation_bytes
from deltaprop.datasets.inputs import _padding_to_aspect, read_csv_rows, read_image, read_npy_rows
from deltaprop.diagnostics import check_gradcheck_work, gradcheck
from deltaprop.errors import DataFormatError
from deltaprop.explanation import explain
from deltaprop.monitoring import EVALUATION_CHUNK, training_bytes
from deltaprop.network import Network
from deltaprop.options import TrainingConfig


def _weights(n_out: int, n_in: int) -> np.ndarray:
    """The dense area-averaging matrix (the former implementation), as a reference."""
    edges = np.linspace(0, n_in, n_out + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("shape", [(5, 7), (28, 28), (100, 3), (37, 53), (1, 1)])
def test_area_resize_matches_the_dense_weights(shape) -> None:
    image = np.random.default_rng(0).random((37, 53))
    expected = _weights(shape[0], 37) @ image @ _weights(shape[1], 53).T
    np.testing.assert_allclose(area_resize(image, shape), expected, atol=1e-12)


@pytest.mark.parametrize("size", [(3, 11), (11, 3), (4, 4), (1, 9)])
def test_padding_in_area_resize_equals_resizing_the_padded_image(size) -> None:
    image = np.random.default_rng(1).random(size)
    pad = _padding_to_aspect(size, (8, 8))
    padded = np.pad(image, pad, constant_values=0.7)
    np.testing.assert_allclose(area_resize(image, (8, 8), pad, 0.7), area_resize(padded, (8, 8)),
                               atol=1e-12)


def test_area_resize_of_a_long_strip_stays_small() -> None:
    strip = np.ones((1, 4_000_000))
    np.testing.assert_allclose(area_resize(strip, (1, 512)), np.ones((1, 512)))
    padded = area_resize(strip, (28, 28), _padding_to_aspect(strip.shape, (28, 28)))  # not 4e6 x 4e6
    assert padded.shape == (28, 28)
    # the strip's mass (4e6 pixels of 1) spread over 28 x 28 cells of (4e6 / 28)² pixels each
    assert padded.sum() == pytest.approx(4_000_000 / (4_000_000 / 28) ** 2)


def test_preparation_is_sized_from_both_sides() -> None:
    assert preparation_bytes(4096, 4096, (28, 28), "digit") < limits.MAX_DECODED_BYTES
    assert preparation_bytes(400, 40_000, (28, 28), "resize") < 1e9


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + b"\x80" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_an_extreme_aspect_is_refused_before_decoding(tmp_path) -> None:
    path = tmp_path / "strip.png"
    path.write_bytes(_png(101, 1))
    with pytest.raises(DataFormatError, match=r"101 x 1, an aspect ratio of 101:1, more than the limit "
                                              r"of 100:1"):
        read_image(path, (28, 28))
    path.write_bytes(_png(100, 1))
    assert read_image(path, (28, 28), prepare="resize").shape == (1, 784)


def _npy(array: np.ndarray) -> bytes:
    stream = bytes_io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def test_features_beyond_the_magnitude_limit_are_refused(tmp_path) -> None:
    X = np.ones((4, 2))
    X[2, 1] = -1e308
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as archive:
        archive.writestr("X.npy", _npy(X))
        archive.writestr("y.npy", _npy(np.array([0, 1, 0, 1])))
    with pytest.raises(DataFormatError, match=r"big.npz: X\[2, 1\] = -1e\+308 is beyond ±1e\+100"):
        load_npz(tmp_path / "big.npz")
    (tmp_path / "rows.npy").write_bytes(_npy(X))
    with pytest.raises(DataFormatError, match=r"row 2, column 1 = -1e\+308 is beyond"):
        read_npy_rows(tmp_path / "rows.npy", 2)
    (tmp_path / "rows.csv").write_text("label,a,b\n0,1,2\n1,3,1e200\n")
    with pytest.raises(DataFormatError, match=r"rows.csv, line 3, column 3 \('b'\) = 1e\+200 is beyond"):
        read_csv_rows(tmp_path / "rows.csv", 2)
    assert load_npz(_write_npz(tmp_path, np.full((4, 2), 1e100))).train.X.max() == 1e100


def _write_npz(tmp_path, X: np.ndarray):
    path = tmp_path / "ok.npz"
    np.savez(path, X=X, y=np.array([0, 1, 0, 1]))
    return path


@pytest.mark.parametrize(("arguments", "message"), [
    (([3, 2], 10, 1e308), r"eps must be a finite-difference step in \(0, 0.1\]"),
    (([3, 2], 10, float("nan")), "eps must be"),
    (([3, 2], 10**10, 1e-6), "rows is 10,000,000,000, more than the limit of 10,000"),
    (([2] * 1002, 10, 1e-6), "sizes describe 1,001 layers, more than the limit of 1,000"),
    (([1000, 1000, 10], 10, 1e-6), "check a sample"),
    (([100_000, 100_000, 10], 10, 1e-6), "would need 320 GB"),
])
def test_gradcheck_work_is_bounded(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_gradcheck_work(*arguments)
    check_gradcheck_work([1000, 1000, 10], 10, 1e-6, max_params=100)


def test_gradcheck_refuses_a_huge_eps() -> None:
    net = Network([3, 2], seed=0)
    with pytest.raises(ValueError, match="eps must be"):
        gradcheck(net, np.ones((2, 3)), np.array([0, 1]), eps=1.0)


def test_networks_have_at_most_max_layers() -> None:
    with pytest.raises(ValueError, match="sizes describe 1,001 layers, more than the limit of 1,000"):
        Network([1] * 1002)
    assert Network([1] * 1001).num_layers == 1000


def test_explain_samples_fewer_checks_for_deep_networks() -> None:
    net = Network([2] * 201, seed=0)
    trace = explain(net, np.ones(2), 0)
    checks = limits.MAX_EXPLAIN_WORK // (2 * (net.num_parameters + limits.EXPLAIN_LAYER_WORK * 200))
    assert sum(layer.checked for layer in trace.layers) == checks


def test_training_bytes_count_the_monitoring_workspace() -> None:
    net = Network([64, 100_000, 10], seed=0)
    config = TrainingConfig()
    counted = training_bytes(net, config, 1257, 0)
    assert counted > 8 * EVALUATION_CHUNK * 2 * 100_000  # z and a of 1,000 rows
    assert training_bytes(net, config, 1257, 0, pass_rows=1257) > counted + 8 * 1257 * 4 * 100_000
