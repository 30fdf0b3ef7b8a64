"""Tests of deltaprop.datasets.mnist: MNIST from local files, and MNIST-style IDX folders."""

from __future__ import annotations

import time

import numpy as np
import pytest
from datasets_support import (
    SHARED_MNIST,
    make_idx_dir,
)

from deltaprop.datasets import (
    IDX_FILES,
    MAX_CLASSES,
    Dataset,
    Split,
    load_idx_dir,
    load_mnist,
    read_idx,
    write_idx,
)
from deltaprop.errors import DataFormatError


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
    with pytest.raises(DataFormatError, match=r"label 0 = 10000; expected class labels in \[0, 9999\]"):
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
