"""deltaprop explain: one example through BP1-BP4, as tables within 100 columns or exact JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deltaprop import io as model_io
from deltaprop.datasets import load_dataset
from deltaprop.explanation import explain

from .support import assert_one_line_error, check_user_error, run


def _fits(out: str, width: int = 100) -> None:
    assert out.strip()
    assert max(len(line) for line in out.splitlines()) <= width


def test_fresh_network_tables_fit_100_columns(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(capsys, "explain", "--sizes", "3,4,2", "--seed", "1")
    assert code == 0, err
    _fits(out)
    for fragment in ("C_x, the cost of this one example", "BP1", "BP2", "BP3", "BP4", "∇_a C",
                     "σ'(z)", "finite difference", "SGD step", "the big picture", "2 paths enumerated"):
        assert fragment in out, fragment


def test_large_layers_show_summaries_and_a_sample(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(capsys, "explain", "--sizes", "64,30,10", "--cost", "cross_entropy",
                         "--max-checks", "300")
    assert code == 0, err
    _fits(out)
    text = " ".join(out.split())  # rich wraps long lines at 100 columns
    assert "a sample of" in text and "of 30 units" in text and "‖·‖" in text
    assert "the 4 largest |∂C/∂w| of 1920" in text
    assert "a seeded sample of the 2,260 parameters" in text  # 64·30 + 30 + 30·10 + 10


def test_json_is_the_exact_trace(capsys) -> None:
    code, out, _ = run(capsys, "explain", "--sizes", "3,4,2", "--seed", "5", "--eta", "0.25",
                       "--activation", "tanh", "--cost", "log_likelihood", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["sizes"] == [3, 4, 2] and data["activations"] == ["tanh", "softmax"]
    assert data["cost"] == "log_likelihood" and data["sgd_update"]["eta"] == 0.25
    assert data["finite_difference_max_error"] < 1e-6
    rng = np.random.default_rng(5)
    x, label = rng.uniform(0.0, 1.0, 3), int(rng.integers(0, 2))
    assert data["x"] == x.tolist() and data["y"] == np.eye(2)[label].tolist()
    assert [np.shape(layer["weights"]) for layer in data["layers"]] == [(4, 3), (2, 4)]


def test_model_and_a_data_row(capsys, model, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run(capsys, "explain", model, "--data", "digits", "--row", "3", "--json")
    assert code == 0
    data = json.loads(out)
    test = load_dataset("digits", seed=0).test
    net = model_io.load(model)
    assert data["x"] == test.X[3].tolist()
    expected = explain(net, test.X[3], int(test.y[3]), eta=net.training_config["eta"])
    assert data["cost_value"] == expected.cost_value
    assert data["layers"][0]["nabla_w"] == expected.layers[0].nabla_w.tolist()
    code, out, _ = run(capsys, "explain", model, "--data", "digits", "--row", "0", "--split", "train")
    assert code == 0 and "row 0 of the train split of digits" in " ".join(out.split())
    _fits(out)


ERROR_CASES = {
    "input size mismatch": (["explain", "{mismatched_model}"], ["10 inputs", "64 features"]),
    "softmax hidden": (["explain", "--activation", "softmax"],
                       ["--activation", "softmax couples the units", "only for the output layer",
                        "use --output-activation softmax"]),
    "unknown activation": (["explain", "--activation", "swish"], ["unknown activation 'swish'", "sigmoid"]),
    "data without model": (["explain", "--data", "digits"], ["MODEL"]),
    "sizes with model": (["explain", "{model}", "--data", "digits", "--sizes", "3,2"], ["--sizes"]),
    "row too large": (["explain", "{model}", "--data", "digits", "--row", "99999"], ["--row", "below"]),
    "bad weight": (["explain", "--weight", "1,2"], ["--weight"]),
    "weight outside": (["explain", "--weight", "1,9,0"], ["outside w^1"]),
    "negative eta": (["explain", "--eta", "-1"], ["--eta"]),
    "missing model": (["explain", "{tmp}/none.safetensors", "--data", "digits"], ["none.safetensors"]),
    "unknown cost": (["explain", "--cost", "hinge"], ["hinge"]),
    "bad pairing": (["explain", "--output-activation", "linear", "--cost", "cross_entropy"],
                    ["cross_entropy", "linear"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, tmp_path, capsys, monkeypatch,
                                          model) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {**bad_files, "model": model})


def test_a_model_without_data_runs_on_its_own_data(capsys, model) -> None:
    """No --data: the data and split seed stored in the model (digits, 0); --seed still wins."""
    code, out, err = run(capsys, "explain", model, "--row", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["x"] == load_dataset("digits", seed=0).test.X[3].tolist()
    code, out, err = run(capsys, "explain", model, "--row", "3", "--seed", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["x"] == load_dataset("digits", seed=1).test.X[3].tolist()
    code, out, _ = run(capsys, "explain", model, "--row", "0")
    assert code == 0 and "row 0 of the test split of digits" in " ".join(out.split())


def test_hidden_layers_are_offered_only_elementwise_activations(capsys, monkeypatch) -> None:
    from deltaprop.activations import ACTIVATIONS, Activation

    code, out, _ = run(capsys, "explain", "--help")
    text = " ".join(out.split())
    hidden = text.split("activation of the hidden layers:")[1].split("(default")[0]
    output = text.split("activation of the output layer:")[1].split("(default")[0]
    assert "softmax" not in hidden and "sigmoid" in hidden and "softmax" in output
    # the registry is read when parsing: activations registered later count, coupled ones refused
    cube = Activation("cube", lambda z: z**3, lambda z, a: 3 * z**2)
    monkeypatch.setitem(ACTIVATIONS, "cube", cube)
    monkeypatch.setitem(ACTIVATIONS, "coupled", Activation("coupled", jvp=ACTIVATIONS["softmax"].jvp))
    code, out, err = run(capsys, "explain", "--activation", "cube", "--json")
    assert code == 0, err
    assert json.loads(out)["activations"] == ["cube", "sigmoid"]
    code, out, err = run(capsys, "explain", "--activation", "coupled")
    assert_one_line_error(code, out, err, "use --output-activation coupled", "cube")


def test_the_help_states_the_cost_a_fresh_network_gets(capsys) -> None:
    from deltaprop.cli import build_parser

    args = build_parser().parse_args(["explain"])
    assert args.cost == "quadratic"  # chapter 2's, unlike train's default
    code, out, _ = run(capsys, "explain", "--help")
    assert code == 0 and "(default: quadratic)" in " ".join(out.split())


def test_a_table_file_gives_its_own_rows(capsys, model, tmp_path) -> None:
    """--data FILE: row N is the file's Nth row (as evaluate scores the file whole); --split: a split."""
    test = load_dataset("digits", seed=0).test
    table = tmp_path / "rows.npz"
    np.savez(table, X=test.X[::-1], y=test.y[::-1])
    code, out, err = run(capsys, "explain", model, "--data", table, "--row", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["x"] == test.X[-3].tolist()
    code, out, err = run(capsys, "explain", model, "--data", table, "--row", "300")
    assert_one_line_error(code, out, err, "--row must be below 270, the number of rows of", "rows.npz")
