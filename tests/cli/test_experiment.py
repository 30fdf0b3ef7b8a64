"""deltaprop experiment vanishing-gradient: tables within 100 columns, JSON, the figure, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import check_user_error, run

SHARED_MNIST = (Path(__file__).resolve().parents[2] / "../shared/data/mnist").resolve()
needs_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists(),
    reason=f"the MNIST files are not at {SHARED_MNIST} (../shared/data/mnist beside the repo)")


@needs_mnist
def test_json_lists_each_network_and_seed(capsys) -> None:
    code, out, err = run(capsys, "experiment", "vanishing-gradient", "--data-dir", SHARED_MNIST,
                         "--epochs", "2", "--seeds", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [n["sizes"] for n in data["networks"]] == [[784, 30, 30, 10], [784, 30, 30, 30, 10],
                                                      [784, 30, 30, 30, 30, 10]]
    for net in data["networks"]:
        hidden = len(net["sizes"]) - 2
        assert len(net["initial_speed"]) == hidden == len(net["book_initial_speed"])
        assert sorted(net["initial_speed_by_seed"]) == ["0", "1", "2"]
        assert len(net["speed_by_epoch"]) == 3 and all(len(e) == hidden for e in net["speed_by_epoch"])
        assert net["initial_speed"] == sorted(net["initial_speed"])  # earlier layers slower
    assert data["images"] == 1000 and data["epochs"] == 2 and data["eta"] == 0.1
    assert data["lmbda"] == 5.0 and data["batch_size"] == 10


@needs_mnist
def test_tables_fit_100_columns_and_the_figure_is_written(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    figure = tmp_path / "vg.png"
    code, out, err = run(capsys, "experiment", "vanishing-gradient", "--data-dir", SHARED_MNIST,
                         "--epochs", "1", "--seeds", "2", "--images", "200", "--out", figure)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "the book" in out and "median" in out and "during training" in out
    assert "0.07" in out and "0.285" in out  # the book's figures beside ours
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


ERROR_CASES = {
    "unknown experiment": (["experiment", "exploding-gradient"], ["vanishing-gradient"]),
    "no experiment": (["experiment"], ["name"]),
    "negative epochs": (["experiment", "vanishing-gradient", "--epochs", "-1"], ["--epochs"]),
    "zero seeds": (["experiment", "vanishing-gradient", "--seeds", "0"], ["--seeds"]),
    "too many images": (["experiment", "vanishing-gradient", "--data-dir", str(SHARED_MNIST),
                         "--images", "60000", "--epochs", "0"], ["images", "50000"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, tmp_path, capsys, monkeypatch) -> None:
    if case == "too many images" and not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST files are not at {SHARED_MNIST}")
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {})
