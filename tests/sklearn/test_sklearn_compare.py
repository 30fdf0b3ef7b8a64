"""bench/sklearn_compare.py runs: a smoke run on the bundled data sets, MNIST skipped when absent."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sklearn_compare.py"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("sklearn_compare", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_smoke_run_writes_the_table_and_the_json(compare, tmp_path, capsys):
    out = tmp_path / "compare.json"
    rows = compare.main(["--datasets", "digits,diabetes", "--repeats", "1", "--max-iter", "2",
                         "--hidden", "8", "--threads", "1", "--json", str(out)])
    assert [(r["dataset"], r["contender"]) for r in rows] == [
        ("digits", "deltaprop"), ("digits", "deltaprop float32"),
        ("diabetes", "deltaprop"), ("diabetes", "deltaprop float32")]
    assert all(r["epochs"] == r["sklearn_epochs"] == 2 for r in rows)
    captured = capsys.readouterr()
    table = captured.out
    assert table.startswith("| data (train rows×features) |") and "digits (1347×64)" in table
    assert "BLAS threads 1" in captured.err  # the same for every contender
    saved = json.loads(out.read_text())
    assert saved["rows"] == rows and set(saved["measurements"]) == {"digits", "diabetes"}
    assert saved["threads"] == 1


def test_missing_mnist_files_skip_mnist(compare, tmp_path, capsys):
    assert compare.main(["--datasets", "mnist", "--mnist", str(tmp_path), "--repeats", "1"]) == []
    assert "MNIST skipped" in capsys.readouterr().err


def test_the_floor_benchmark_runs_on_random_rows(tmp_path, capsys):
    """bench/floor.py: fit's epoch against its products and gathers alone (runs A, B), and the
    floor of the MNIST estimator's step (--floor-of); an empty folder means random rows."""
    spec = importlib.util.spec_from_file_location("floor", BENCH.parent / "floor.py")
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    rows = floor.main(["--runs", "A", "--rows", "300", "--repeat", "1", "--mnist", str(tmp_path)])
    assert [(r["run"], r["dtype"], r["data"]) for r in rows] == [("A", "float64", "random")]
    assert rows[0]["fraction"] == rows[0]["epoch"] / rows[0]["floor"] > 0
    assert "| A [784, 30, 10] | float64 | 300 | random |" in capsys.readouterr().out
    assert floor.main(["--floor-of", "784,100,10", "--batch-size", "50", "--rows", "200",
                       "--repeat", "1", "--mnist", str(tmp_path)]) == []
    assert "Adam's update of the 79,510 parameters" in capsys.readouterr().out
