"""deltaprop gradcheck: backprop against finite differences, exit 1 when the check fails."""

from __future__ import annotations

import json

import pytest

from .support import check_user_error, run


def test_gradcheck_compares_backprop_with_finite_differences(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--max-params", "300", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["passed"] and result["max_error"] < 1e-6
    assert [layer["layer"] for layer in result["layers"]] == [1, 2]
    checked = sum(layer["checked"] for layer in result["layers"])
    assert checked == 300 and result["finite_difference_evaluations"] == 2 * checked
    assert result["backprop_evaluations"] == 1


def test_gradcheck_on_digits_as_tables(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--sizes", "64,12,10", "--data", "digits",
                       "--activation", "tanh", "--cost", "log_likelihood", "--rows", "5")
    assert code == 0
    assert "weight error" in out and "speed-up" in out and "OK" in out
    assert "softmax" in out  # the output activation that goes with log_likelihood


def test_gradcheck_exits_1_when_the_check_fails(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--sizes", "3,4,2", "--tolerance", "1e-300")
    assert code == 1
    assert "FAILED" in out


ERROR_CASES = {
    "bad sizes": (["gradcheck", "--sizes", "64"], ["--sizes"]),
    "digits sizes": (["gradcheck", "--sizes", "3,2", "--data", "digits"], ["64"]),
    "zero rows": (["gradcheck", "--rows", "0"], ["--rows"]),
    "unknown cost": (["gradcheck", "--cost", "hinge"], ["hinge", "quadratic"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, tmp_path, capsys, monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {})
