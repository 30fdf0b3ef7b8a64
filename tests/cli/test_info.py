"""deltaprop info: a model's sizes, activations, cost, parameters and training config."""

from __future__ import annotations

import json

import pytest

from .support import check_user_error, run


def test_info_describes_the_model(model, capsys) -> None:
    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["sizes"] == [64, 30, 10] and info["parameters"] == 64 * 30 + 30 + 30 * 10 + 10
    assert info["activations"] == ["sigmoid", "sigmoid"] and info["cost"] == "cross_entropy"
    assert info["dtype"] == "float64" and info["training"]["epochs"] == 2
    assert info["deltaprop_version"] and info["file_bytes"] == model.stat().st_size
    assert [layer["units"] for layer in info["layers"]] == [30, 10]
    code, out, _ = run(capsys, "info", model)
    assert code == 0
    assert "2,260" in out and "cross_entropy" in out and "sigmoid" in out
    assert "training" in out and "data_spec" in out


ERROR_CASES = {
    "corrupt model": (["info", "{corrupt_model}"], ["corrupt.safetensors"]),
    "a data file": (["info", "{bad_csv}"], ["bad.csv"]),
    "missing model": (["info", "{tmp}/none.safetensors"], ["none.safetensors"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, tmp_path, capsys, monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, bad_files)
