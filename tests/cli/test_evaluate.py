"""deltaprop evaluate: the test accuracy reproduced, another split, and its user errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deltaprop import io as model_io

from .support import check_user_error, run


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
    assert "validation data" in out and "accuracy" in out and "recall" in out


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
