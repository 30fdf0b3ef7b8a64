"""Fixtures of the command-line tests: the digits, one trained run, and malformed files."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimage

from deltaprop import Network, cli
from deltaprop import io as model_io
from deltaprop.datasets import load_dataset


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> tuple[Path, str]:
    """A default run (2 epochs, with plots, bar and table) and what it printed on stdout."""
    out = tmp_path_factory.mktemp("trained") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["train", "--epochs", "2", "--out", str(out)])
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue()


@pytest.fixture()
def model(trained_run) -> Path:
    return trained_run[0] / "model.safetensors"


@pytest.fixture()
def bad_files(tmp_path) -> dict[str, Path]:
    """Files that every command must refuse in one line."""
    files = {
        "bad_csv": tmp_path / "bad.csv",
        "corrupt_model": tmp_path / "corrupt.safetensors",
        "bad_npy": tmp_path / "bad.npy",
        "mismatched_model": tmp_path / "small.safetensors",
        "text": tmp_path / "rows.txt",
        "corrupt_png": tmp_path / "fake.png",
        "nonempty": tmp_path / "nonempty",
        "png": tmp_path / "digit.png",
        "npy64": tmp_path / "rows64.npy",
    }
    files["bad_csv"].write_text("label,a,b\n1,2,oops\n")
    files["corrupt_model"].write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    files["bad_npy"].write_text("this is not an array")
    files["text"].write_text("1,2,3\n")
    files["corrupt_png"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    files["nonempty"].mkdir()
    (files["nonempty"] / "keep.txt").write_text("mine")
    model_io.save(Network([10, 5, 10], cost="cross_entropy"), files["mismatched_model"])
    mpimage.imsave(files["png"], np.eye(8), cmap="gray")
    np.save(files["npy64"], np.zeros((3, 64)))
    return files
