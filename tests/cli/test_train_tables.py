"""Tables through the command line: a CSV (any delimiter) or Parquet file trains with its columns
chosen by name, held-out files, and the model that remembers its columns, which evaluate and explain
then select by name from any table."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deltaprop import io as model_io
from tests.cli.support import assert_one_line_error, run

KINDS = ("ant", "bee", "fly")


def _rows(rng: np.random.Generator, count: int) -> list[dict[str, object]]:
    """Rows of three separable kinds: id, two informative features, a noise column, a text column."""
    centres = np.array([[0.2, 0.8], [0.8, 0.2], [0.8, 0.8]])
    rows = []
    for i in range(count):
        k = i % 3
        x = centres[k] + 0.05 * rng.normal(size=2)
        rows.append({"id": f"r{i}", "length": round(x[0], 4), "noise": round(rng.normal(), 4),
                     "width": round(x[1], 4), "colour": "red" if i % 2 else "blue", "kind": KINDS[k]})
    return rows


def _csv(path, rows, columns, delimiter=","):
    lines = [delimiter.join(columns)] + [delimiter.join(str(row[c]) for c in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(capsys, tmp_path, *argv):
    code, out, err = run(capsys, "train", *argv, "--hidden", "8", "--epochs", "30", "--eta", "2",
                         "--out", tmp_path / "run", "--no-plots", "--quiet", "--seed", "0")
    assert code == 0, err
    return tmp_path / "run" / "model.safetensors"


def _evaluate(capsys, model, *argv):
    code, out, err = run(capsys, "evaluate", model, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def model(capsys, tmp_path):
    """A model trained on a ';' CSV, label 'kind', features width then length."""
    data = _csv(tmp_path / "train.csv", _rows(np.random.default_rng(0), 120),
                ["id", "length", "noise", "width", "colour", "kind"], ";")
    return _train(capsys, tmp_path, "--data", data, "--label-column", "kind", "--features", "width, length")


def test_the_model_stores_its_columns_and_evaluate_selects_them_by_name(capsys, tmp_path, model):
    meta = model_io.read_metadata(model)
    assert meta["label_column"] == "kind" and meta["features"] == ["width", "length"]
    assert model_io.load(model).sizes[0] == 2
    # another table: other order, other delimiter, extra columns; every row is scored
    held = _csv(tmp_path / "held.tsv", _rows(np.random.default_rng(1), 30),
                ["kind", "colour", "length", "width", "id"], "\t")
    result = _evaluate(capsys, model, "--data", held)
    assert result["split"] == "all" and result["rows"] == 30 and result["accuracy"] > 0.9
    assert np.array(result["confusion_matrix"]).sum() == 30
    swapped = _csv(tmp_path / "swapped.csv", _rows(np.random.default_rng(1), 30),
                   ["kind", "colour", "width", "length", "id"])  # the same values, columns swapped
    assert _evaluate(capsys, model, "--data", swapped)["accuracy"] == result["accuracy"]
    # --split asks for one split of the file; without --data, the model's own test split
    assert _evaluate(capsys, model, "--data", held, "--split", "test")["rows"] == 4
    own = _evaluate(capsys, model)
    assert own["split"] == "test" and own["rows"] == 18
    assert own["accuracy"] == pytest.approx(model_io.read_metadata(model)["test_accuracy"])


def test_a_table_without_a_column_of_the_model_is_refused_in_one_line(capsys, tmp_path, model):
    short = _csv(tmp_path / "short.csv", _rows(np.random.default_rng(2), 6), ["length", "kind"])
    code, out, err = run(capsys, "evaluate", model, "--data", short)
    assert_one_line_error(code, out, err, "short.csv", "no column named 'width'", "'length', 'kind'")
    other = _csv(tmp_path / "other.csv", [{"width": 0.5, "length": 0.5, "kind": "wasp"}],
                 ["width", "length", "kind"])
    code, out, err = run(capsys, "evaluate", model, "--data", other)
    assert_one_line_error(code, out, err, "other.csv, line 2, column 'kind' = 'wasp' is not one of the "
                                          "classes 'ant', 'bee', 'fly'")


def test_explain_takes_a_row_of_a_table_by_the_models_columns(capsys, tmp_path, model):
    rows = _rows(np.random.default_rng(3), 5)
    held = _csv(tmp_path / "held.csv", rows, ["id", "kind", "width", "length"])
    code, out, err = run(capsys, "explain", model, "--data", held, "--row", "4", "--json")
    assert code == 0, err
    raw = np.array([[rows[4]["width"], rows[4]["length"]]])  # the model's columns, in its order
    assert json.loads(out)["x"] == model_io.load(model).input_activations(raw)[0].tolist()
    code, out, err = run(capsys, "explain", model, "--data", held, "--row", "4")
    assert code == 0, err
    assert f"row 4 of {held} (label {rows[4]['kind']})" in " ".join(out.split())


def test_held_out_files_are_used_whole_and_remembered(capsys, tmp_path):
    columns = ["length", "width", "target"]  # scikit-learn's name for the label column
    rng = np.random.default_rng(4)
    train, validation, test = (
        _csv(tmp_path / name, [{**row, "target": row["kind"]} for row in _rows(rng, n)], columns)
        for name, n in (("a.csv", 60), ("v.csv", 21), ("t.csv", 15)))
    model = _train(capsys, tmp_path, "--data", train, "--validation-data", validation, "--test-data", test)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset"]["rows"] == {"train": 60, "validation": 21, "test": 15}
    meta = model_io.read_metadata(model)
    assert meta["label_column"] == "target" and meta["test_data"] == str(test)
    own = _evaluate(capsys, model)  # the model's own test data: the held-out file, whole
    assert own["rows"] == 15 and own["accuracy"] == pytest.approx(meta["test_accuracy"])
    assert _evaluate(capsys, model, "--split", "validation")["rows"] == 21
    assert _evaluate(capsys, model, "--split", "train")["rows"] == 60


def test_a_parquet_table_trains_and_evaluates(capsys, tmp_path):
    rows = _rows(np.random.default_rng(5), 90)
    data = tmp_path / "bugs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    model = _train(capsys, tmp_path, "--data", data, "--label-column", "kind", "--features", "length,width")
    assert model_io.read_metadata(model)["features"] == ["length", "width"]
    result = _evaluate(capsys, model, "--data", data)
    assert result["rows"] == 90 and result["accuracy"] > 0.9 and result["classes"] == list(KINDS)


ERROR_CASES = {
    "text feature": (["--label-column", "kind"], ["column 1 ('id'): 'r0' is not a number",
                                                  "one-hot encoding, not supported yet"]),
    "no label column": ([], ["no 'label' or 'target' column", "--label-column"]),
    "missing feature": (["--label-column", "kind", "--features", "length,girth"],
                        ["no column named 'girth'"]),
    "empty feature name": (["--features", "length,,width"], ["--features", "column names"]),
    "held-out with digits": (["--data", "digits", "--test-data", "{tmp}/bugs.csv"],
                             ["test_data", "only for a table file"]),
    "held-out classes": (["--label-column", "kind", "--features", "length,width",
                          "--test-data", "{tmp}/wasps.csv"],
                         ["wasps.csv", "'wasp' is not one of the classes"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_train_refuses_bad_columns_in_one_line(case, capsys, monkeypatch, tmp_path) -> None:
    from tests.cli.support import check_user_error

    _csv(tmp_path / "bugs.csv", _rows(np.random.default_rng(6), 30), ["id", "length", "width", "kind"])
    _csv(tmp_path / "wasps.csv", [{"length": 0, "width": 0, "kind": "wasp"}], ["length", "width", "kind"])
    argv, fragments = ERROR_CASES[case]
    data = [] if "--data" in argv else ["--data", "{tmp}/bugs.csv"]
    check_user_error(capsys, monkeypatch, tmp_path, ["train", *data, *argv], fragments, {})


def test_stored_columns_are_checked_like_the_rest_of_the_model(tmp_path):
    from deltaprop import Network

    net = Network([2, 3, 2])
    path = tmp_path / "m.safetensors"
    model_io.save(net, path, {"label_column": "kind", "features": ["width", "length"]})
    assert model_io.read_metadata(path)["features"] == ["width", "length"]
    for extra, match in (({"features": ["width"]}, "'features' must name 2 distinct columns"),
                         ({"features": ["a", "a"]}, "'features' must name 2 distinct columns"),
                         ({"label_column": ""}, "label_column"),
                         ({"features": ["a", "b" * 257]}, "features")):
        with pytest.raises(ValueError, match=match):
            model_io.save(net, tmp_path / "bad.safetensors", extra)


def test_without_pyarrow_a_parquet_file_gets_one_line_naming_the_extra(capsys, monkeypatch, tmp_path):
    import sys

    from tests.cli.support import check_user_error

    pq.write_table(pa.Table.from_pylist(_rows(np.random.default_rng(7), 9)), tmp_path / "bugs.parquet")
    for name in ("pyarrow", "pyarrow.compute", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    check_user_error(capsys, monkeypatch, tmp_path, ["train", "--data", "{tmp}/bugs.parquet"],
                     ["reading Parquet files needs pyarrow: pip install 'deltaprop[parquet]'"], {})


def test_a_raw_table_trains_well_with_the_defaults_and_evaluates_whole(capsys, tmp_path):
    """The newcomer's table: scikit-learn's breast cancer features as they are (0.05 .. 4254), its
    label column named ``target``. Unscaled, the default network stayed at 58.82% (the majority
    class); standardized by default (``--scale auto``), fitted on the training rows and kept in the
    model, it learns."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    path = tmp_path / "cancer.csv"
    np.savetxt(path, np.column_stack([bunch.data, bunch.target]), delimiter=",", comments="",
               header=",".join([f"f{i}" for i in range(bunch.data.shape[1])] + ["target"]))
    code, out, err = run(capsys, "train", "--data", path, "--out", tmp_path / "run", "--no-plots",
                         "--quiet", "--json")
    assert code == 0 and "warning" not in err, err
    outcome = json.loads(out)
    assert outcome["test_accuracy"] >= 0.9
    model = tmp_path / "run" / "model.safetensors"
    meta = model_io.read_metadata(model)
    assert meta["scaling"] == "standard" and meta["kept_epoch"] == outcome["kept_epoch"]
    whole = _evaluate(capsys, model, "--data", path)  # a file given is scored whole
    assert whole["rows"] == 569 and whole["accuracy"] >= 0.9
    unscaled = model_io.load(model)
    unscaled.set_scaling(None)  # the same parameters on raw features: the scaling is what works
    assert unscaled.accuracy(bunch.data, bunch.target) < whole["accuracy"]
