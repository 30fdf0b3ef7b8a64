"""Tests of deltaprop.datasets.spec: load_dataset, the data sets a command-line spec names."""

from __future__ import annotations

import numpy as np
import pytest
from datasets_support import (
    make_idx_dir,
)

from deltaprop.datasets import (
    load_csv,
    load_dataset,
    load_idx_dir,
    load_npz,
    read_idx,
)


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


def test_fuzz_paths(tmp_path):
    # a missing path is FileNotFoundError for every loader, never DataFormatError
    for loader in (read_idx, load_csv, load_npz):
        with pytest.raises(FileNotFoundError):
            loader(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        load_idx_dir(tmp_path / "missing")
