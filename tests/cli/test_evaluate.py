"""deltaprop evaluate: the test accuracy reproduced, another split, and its user errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deltaprop import io as model_io

from .support import assert_one_line_error, check_user_error, run


def test_evaluate_reproduces_the_test_accuracy(model, capsys) -> None:
    code, out, _ = run(capsys, "evaluate", model, "--json")
    assert code == 0
    result = json.loads(out)
    meta = model_io.read_metadata(model)
    assert result["split"] == "test" and result["rows"] > 0
    assert result["accuracy"] == pytest.approx(meta["test_accuracy"])
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == result["rows"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(result["accuracy"])


def test_evaluate_another_split_as_a_table(model, capsys) -> None:
    code, out, _ = run(capsys, "evaluate", model, "--data", "digits", "--split", "validation")
    assert code == 0
    assert "the validation split of digits" in out and "accuracy" in out and "recall" in out


ERROR_CASES = {
    "input size mismatch": (["evaluate", "{mismatched_model}", "--data", "digits"],
                            ["10 inputs", "64 features"]),
    "missing model": (["evaluate", "{tmp}/none.safetensors"], ["none.safetensors"]),
    "corrupt model": (["evaluate", "{corrupt_model}"], ["corrupt.safetensors"]),
    "unknown split": (["evaluate", "{model}", "--split", "all"], ["--split", "all"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, model, tmp_path, capsys,
                                          monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {**bad_files, "model": model})


def test_evaluate_table_fits_80_columns(model, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "evaluate", model)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.split()[:2] == ["true", "0"])
    assert header.split() == ["true", *map(str, range(10)), "recall"]  # nothing cut
    assert "…" not in out


def test_evaluate_big_counts_fit_80_columns() -> None:
    from rich.console import Console

    from deltaprop.cli._common import confusion_table

    counts = np.diag([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    counts[4, 9] = 14
    screen = Console(width=80, record=True)
    screen.print(confusion_table(counts, "confusion matrix"))
    lines = screen.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in "".join(lines)
    assert lines[1].split() == ["true", *map(str, range(10)), "recall"]
    assert lines[7].split()[-2:] == ["14", "98.6%"]


def _fake_mnist(folder) -> None:
    from deltaprop.datasets import IDX_FILES, write_idx

    rng = np.random.default_rng(0)
    folder.mkdir()
    for stem, rows in zip(IDX_FILES, (60, 60, 20, 20), strict=True):
        array = (rng.integers(0, 256, (rows, 28, 28)) if "images" in stem
                 else np.arange(rows) % 10).astype(np.uint8)
        write_idx(folder / stem, array)


def test_evaluate_finds_the_data_the_model_was_trained_on(tmp_path, capsys, monkeypatch) -> None:
    from deltaprop.datasets import download

    def offline(url, *args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(download, "_fetch", offline)
    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "nowhere"))
    _fake_mnist(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "--data", "mnist", "--data-dir", "data", "--epochs", "1",
                       "--hidden", "5", "--quiet", "--no-plots", "--out", "run")
    assert code == 0, err
    meta = model_io.read_metadata(tmp_path / "run" / "model.safetensors")
    assert meta["data_spec"] == "mnist" and meta["data_dir"] == str(tmp_path / "data")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, out, err = run(capsys, "evaluate", "../run/model.safetensors", "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 20 and json.loads(out)["data"] == "mnist"
    for data in (["--data", "mnist"], []):  # explain finds the same folder, with --data or without
        code, out, err = run(capsys, "explain", "../run/model.safetensors", *data, "--row", "19",
                             "--max-checks", "10", "--json")
        assert code == 0, err
        assert len(json.loads(out)["x"]) == 784
    # Elsewhere, the data cannot be downloaded: one short line, without the mirrors' addresses.
    code, out, err = run(capsys, "evaluate", "../run/model.safetensors", "--data-dir", "empty")
    assert code == 2 and out == ""
    assert err.startswith("deltaprop: error: could not download") and err.count("\n") == 1
    assert "http" not in err and "offline" in err and len(err.strip()) <= 300


def test_evaluate_splits_with_the_models_seed_unless_given(model, tmp_path, capsys) -> None:
    """The split seed: --seed, else the model's data_seed, else 0 (``resolve_data``)."""
    from deltaprop.datasets import load_dataset

    net = model_io.load(model)
    seeded = tmp_path / "seeded.safetensors"
    model_io.save(net, seeded, {"data_spec": "digits", "data_seed": 1})
    for argv, seed in (([], 1), (["--seed", "0"], 0)):
        code, out, err = run(capsys, "evaluate", seeded, *argv, "--json")
        assert code == 0, err
        test = load_dataset("digits", seed=seed).test
        expected = np.mean(np.argmax(net.feedforward(test.X), axis=1) == test.y)
        assert json.loads(out)["accuracy"] == pytest.approx(expected)


def test_a_table_file_is_scored_whole_unless_a_split_is_asked(model, tmp_path, capsys) -> None:
    """--data FILE: every row of it; --split: that split of it; no --data: the model's test split."""
    from deltaprop.datasets import load_dataset

    test = load_dataset("digits", seed=0).test
    table = tmp_path / "held.npz"
    np.savez(table, X=test.X, y=test.y)
    whole = json.loads(run(capsys, "evaluate", model, "--data", table, "--json")[1])
    own = json.loads(run(capsys, "evaluate", model, "--json")[1])
    assert whole["split"] == "all" and whole["rows"] == 270 and whole["data"] == str(table)
    assert whole["accuracy"] == pytest.approx(own["accuracy"]) and whole["cost"] == pytest.approx(own["cost"])
    split = json.loads(run(capsys, "evaluate", model, "--data", table, "--split", "test", "--json")[1])
    assert split["split"] == "test" and split["rows"] == round(0.15 * 270)
    code, out, _ = run(capsys, "evaluate", model, "--data", table)
    assert code == 0 and "every row of held.npz, 270 rows: accuracy" in " ".join(out.split())
    np.savez(table, X=test.X[:, :10], y=test.y)
    code, out, err = run(capsys, "evaluate", model, "--data", table)
    assert_one_line_error(code, out, err, "held.npz: X has 10 feature columns, but 64 are expected")
