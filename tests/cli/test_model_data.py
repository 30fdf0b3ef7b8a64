"""The data a model is run on (``deltaprop.datasets.resolve``): one rule for evaluate, explain, info
and report, and an MNIST model found by its stored folder from anywhere, without a download."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from deltaprop import cli
from deltaprop.datasets import load_mnist
from deltaprop.datasets import mnist as mnist_module
from deltaprop.datasets.resolve import DataSource, resolve_data

from .support import run

MNIST = (Path(__file__).resolve().parents[2] / "../shared/data/mnist").resolve()
needs_mnist = pytest.mark.skipif(
    not any((MNIST / f"train-images-idx3-ubyte{gz}").exists() for gz in ("", ".gz")),
    reason=f"the MNIST files are not at {MNIST} (../shared/data/mnist beside the repo)")


# -- the rule ---------------------------------------------------------------------------------------


def test_what_the_user_gives_wins(tmp_path) -> None:
    meta = {"data_spec": "mnist", "data_dir": str(tmp_path), "data_seed": 3}
    assert resolve_data(meta, "mnist", "/elsewhere", 7) == DataSource("mnist", "/elsewhere", 7)
    assert resolve_data(meta, seed=0).seed == 0  # 0 is given, not missing


def test_else_what_the_model_stores(tmp_path) -> None:
    meta = {"data_spec": "mnist", "data_dir": str(tmp_path), "data_seed": 3}
    assert resolve_data(meta) == DataSource("mnist", str(tmp_path), 3)
    assert resolve_data(meta, "MNIST") == DataSource("MNIST", str(tmp_path), 3)  # the same data


def test_else_the_defaults() -> None:
    assert resolve_data({}) == DataSource("digits", None, 0)
    assert resolve_data({"data_spec": None, "data_dir": None, "data_seed": None}) == ("digits", None, 0)
    assert resolve_data({"data_spec": 5, "data_seed": 2}) == DataSource("digits", None, 2)


def test_the_stored_folder_goes_with_the_stored_spec_only(tmp_path) -> None:
    meta = {"data_spec": "mnist", "data_dir": str(tmp_path), "data_seed": 3}
    assert resolve_data(meta, "digits") == DataSource("digits", None, 3)
    gone = {**meta, "data_dir": str(tmp_path / "gone")}  # trained on another machine
    assert resolve_data(gone).data_dir is None


@pytest.mark.parametrize("seed", [True, -1, "3", 1.5, None])
def test_an_invalid_stored_seed_gives_the_default(seed) -> None:
    assert resolve_data({"data_spec": "digits", "data_seed": seed}).seed == 0


# -- a model trained on MNIST, run from another folder ---------------------------------------------


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory) -> Path:
    """A model trained with --data mnist --data-dir on the shared MNIST files."""
    out = tmp_path_factory.mktemp("mnist") / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["train", "--data", "mnist", "--data-dir", str(MNIST), "--epochs", "1",
                         "--hidden", "10", "--out", str(out), "--quiet", "--no-plots"]) == 0
    return out / "model.safetensors"


@pytest.fixture()
def elsewhere(tmp_path, monkeypatch) -> Path:
    """Another current folder, an empty default data folder, and a downloader that fails."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "empty"))

    def no_download(*args, **kwargs):
        raise AssertionError("MNIST was downloaded although the model's folder holds it")

    monkeypatch.setattr(mnist_module, "download_missing", no_download)
    return tmp_path


@needs_mnist
@pytest.mark.parametrize("data", [["--data", "mnist"], []], ids=["--data mnist", "no --data"])
def test_explain_finds_the_models_mnist_folder(mnist_model, elsewhere, capsys, data) -> None:
    code, out, err = run(capsys, "explain", mnist_model, *data, "--row", "0", "--max-checks", "50",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["x"] == load_mnist(MNIST, download=False).test.X[0].tolist()


@needs_mnist
def test_evaluate_info_and_report_agree_on_the_models_data(mnist_model, elsewhere, capsys) -> None:
    code, out, err = run(capsys, "evaluate", mnist_model, "--json")
    assert code == 0, err
    assert json.loads(out)["data"] == "mnist" and json.loads(out)["rows"] == 10_000
    code, out, err = run(capsys, "info", mnist_model, "--json")
    assert code == 0, err
    assert json.loads(out)["data_used"] == {"spec": "mnist", "data_dir": str(MNIST), "seed": 0}
    code, _, err = run(capsys, "report", mnist_model.parent, "-o", elsewhere / "r.html")
    assert code == 0, err
    assert "the data could not be loaded" not in (elsewhere / "r.html").read_text()
