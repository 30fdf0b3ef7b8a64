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
    assert "digits, split seed 0" in " ".join(out.split())  # the data evaluate would use


def test_info_names_the_data_evaluate_would_use(model, tmp_path, capsys, monkeypatch) -> None:
    from deltaprop import io as model_io

    monkeypatch.setenv("COLUMNS", "300")  # the folder on one line

    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0 and json.loads(out)["data_used"] == {"spec": "digits", "data_dir": None, "seed": 0}
    moved = tmp_path / "moved.safetensors"
    model_io.save(model_io.load(model), moved, {"data_spec": "mnist", "data_dir": str(tmp_path),
                                                "data_seed": 4})
    code, out, _ = run(capsys, "info", moved, "--json")
    assert json.loads(out)["data_used"] == {"spec": "mnist", "data_dir": str(tmp_path), "seed": 4}
    code, out, _ = run(capsys, "info", moved)
    assert code == 0 and f"mnist in {tmp_path}, split seed 4" in " ".join(out.split())
    (tmp_path / "gone").mkdir()
    model_io.save(model_io.load(model), moved, {"data_spec": "mnist", "data_dir": str(tmp_path / "gone")})
    (tmp_path / "gone").rmdir()
    code, out, _ = run(capsys, "info", moved)
    assert code == 0 and "mnist in the default folder, split seed 0" in " ".join(out.split())


ERROR_CASES = {
    "corrupt model": (["info", "{corrupt_model}"], ["corrupt.safetensors"]),
    "a data file": (["info", "{bad_csv}"], ["bad.csv"]),
    "missing model": (["info", "{tmp}/none.safetensors"], ["none.safetensors"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, tmp_path, capsys, monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, bad_files)
