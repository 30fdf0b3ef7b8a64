"""deltaprop predict: predictions written to a file (-o, CSV or JSON), the id column passed through,
folders and every image format Pillow reads, pictures without ink, the one unsure rule, and the
unscaled-input warning."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deltaprop import Network
from deltaprop import io as model_io
from deltaprop.cli import predict as predict_command
from deltaprop.datasets.inputs import read_image

from . import test_predict
from .support import assert_one_line_error, run
from .test_predict import _photo

confident_rows = test_predict.confident_rows  # the fixture, shared

HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "a,b \"quoted\"", "@SUM(A1)"]


@pytest.fixture()
def rows_csv(tmp_path, digits) -> tuple[Path, np.ndarray, list[str]]:
    """A .csv of 6 test rows of the digits with an 'id' column of hostile text and a 'label'."""
    X = digits.test.X[:6]
    ids = ["first", "=HYPERLINK(\"http://x\")", "-2", "with,comma", "quote\"d", "@me"]
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "label", *(f"p{i}" for i in range(64))])
        for name, x in zip(ids, X, strict=True):
            writer.writerow([name, "3", *map(repr, map(float, x))])
    return path, X, ids


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_predictions_csv_one_row_per_input_with_ids(model, rows_csv, tmp_path, capsys) -> None:
    path, X, ids = rows_csv
    out = tmp_path / "predictions.csv"
    code, stdout, err = run(capsys, "predict", model, path, "--id-column", "id", "-o", out)
    assert code == 0, err
    assert f"predictions of 6 rows written to {out}" in " ".join(stdout.split())
    table = read_csv(out)
    header = list(table[0])
    assert header == ["id", "predicted", *(f"p_{k}" for k in range(10)), "note"]
    net = model_io.load(model)
    probabilities = net.predict_proba(X)
    # ids come back as given, formula-like text behind a quote, numbers as they are
    assert [row["id"] for row in table] == ["first", "'=HYPERLINK(\"http://x\")", "-2", "with,comma",
                                            "quote\"d", "'@me"]
    for row, p in zip(table, probabilities, strict=True):
        got = np.array([float(row[f"p_{k}"]) for k in range(10)])
        np.testing.assert_allclose(got, p, rtol=1e-15)
        assert row["predicted"] == str(int(np.argmax(p)))
        assert row["note"] == ("unsure" if p.max() < 0.5 else "")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic, no leftovers


def test_hostile_class_names_are_quoted_and_neutralized(tmp_path, capsys) -> None:
    net = Network([3, 4, 4], classes=HOSTILE, seed=0)
    model_io.save(net, tmp_path / "m.safetensors")
    rows = np.random.default_rng(0).uniform(size=(5, 3))
    np.save(tmp_path / "rows.npy", rows)
    out = tmp_path / "p.csv"
    assert run(capsys, "predict", tmp_path / "m.safetensors", tmp_path / "rows.npy", "-o", out)[0] == 0
    with open(out, newline="") as file:
        header, *body = list(csv.reader(file))
    order = net.classes.tolist()
    assert header == ["row", "predicted", *(f"p_{name}" for name in order), "note"]
    expected = [order[k] for k in np.argmax(net.feedforward(rows), axis=1)]
    neutral = {name: "'" + name if name[0] in "=+-@" else name for name in order}
    assert [line[1] for line in body] == [neutral[name] for name in expected]
    assert [line[0] for line in body] == ["0", "1", "2", "3", "4"]
    assert "\"p_a,b \"\"quoted\"\"\"" in out.read_text().splitlines()[0]  # CSV-quoted, not split


def test_json_output_and_the_overwrite_rule(model, rows_csv, tmp_path, capsys) -> None:
    path, X, ids = rows_csv
    out = tmp_path / "predictions.json"
    assert run(capsys, "predict", model, path, "--id-column", "ID", "-o", out, "--json")[0] == 0
    result = json.loads(out.read_text())
    assert result["kind"] == "deltaprop predictions"
    assert [p["id"] for p in result["predictions"]] == ids
    assert result["labels"] == model_io.load(model).predict(X).tolist()
    # an earlier output is replaced; any other file only with --force
    assert run(capsys, "predict", model, path, "--id-column", "id", "-o", out)[0] == 0
    assert read_csv(out)[0]["id"] == "first"
    assert run(capsys, "predict", model, path, "--id-column", "id", "-o", out, "--json")[0] == 0
    assert json.loads(out.read_text())["kind"] == "deltaprop predictions"  # its own CSV, replaced
    notes = tmp_path / "notes.csv"
    notes.write_text("mine,not yours\n")
    code, stdout, err = run(capsys, "predict", model, path, "--id-column", "id", "-o", notes)
    assert_one_line_error(code, stdout, err, "notes.csv", "not an earlier output", "--force")
    assert notes.read_text() == "mine,not yours\n"
    assert run(capsys, "predict", model, path, "--id-column", "id", "-o", notes, "--force")[0] == 0
    assert read_csv(notes)[0]["id"] == "first"
    code, stdout, err = run(capsys, "predict", model, path, "--id-column", "id", "-o", path, "--force")
    assert_one_line_error(code, stdout, err, "is an input of this command")
    code, stdout, err = run(capsys, "predict", model, path, "--id-column", "name", "-o", out)
    assert_one_line_error(code, stdout, err, "rows.csv", "no column named 'name'", "'id'")


def test_a_folder_of_pictures_in_every_format(model, confident_rows, tmp_path, capsys) -> None:
    X, labels = confident_rows
    folder = tmp_path / "photos"
    folder.mkdir()
    formats = ["png", "jpg", "bmp", "gif", "tiff", "webp"]
    for i, suffix in enumerate(formats):
        gray = np.round(_photo(X[i % len(X)].reshape(8, 8)) * 255).astype(np.uint8)
        Image.fromarray(gray).save(tmp_path / f"{i}.png")  # the same pixels as PNG, outside
        image = Image.fromarray(gray)
        image = image.convert("RGB") if suffix == "jpg" else image
        image.save(folder / f"{i}.{suffix}", **({"lossless": True} if suffix == "webp" else {}))
    (folder / "notes.txt").write_text("not a picture")
    code, out, err = run(capsys, "predict", model, folder, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["files"] == [str(folder / f"{i}.{s}") for i, s in enumerate(formats)]
    expected = [int(labels[i % len(X)]) for i in range(len(formats))]
    assert result["labels"] == expected
    for i, prediction in enumerate(result["predictions"]):  # lossless formats: what the PNG gives
        if formats[i] != "jpg":
            from_png = read_image(tmp_path / f"{i}.png", (8, 8)).reshape(8, 8)
            np.testing.assert_allclose(prediction["input"], from_png, atol=1e-4)
    code, out, err = run(capsys, "predict", model, folder, "-o", tmp_path / "p.csv")
    assert code == 0, err
    table = read_csv(tmp_path / "p.csv")
    assert [row["file"] for row in table] == result["files"]
    assert "row" not in table[0]


def test_folder_errors(model, tmp_path, capsys, monkeypatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    code, out, err = run(capsys, "predict", model, empty)
    assert_one_line_error(code, out, err, "empty", "without pictures")
    many = tmp_path / "many"
    many.mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((9, 9), np.uint8)).save(many / f"{i}.png")
    monkeypatch.setattr(predict_command, "MAX_PREDICT_FILES", 3)
    code, out, err = run(capsys, "predict", model, many)
    assert_one_line_error(code, out, err, "more than 3 pictures")


def test_a_blank_page_says_no_ink_instead_of_a_class(model, confident_rows, tmp_path, capsys) -> None:
    X, labels = confident_rows
    Image.fromarray(np.full((120, 100), 235, np.uint8)).save(tmp_path / "blank.png")
    gray = np.round(_photo(X[0].reshape(8, 8)) * 255).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "digit.png")
    code, out, err = run(capsys, "predict", model, tmp_path / "blank.png")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "no ink" in flat and "note: no ink found in" in flat and "predicted label" not in flat
    assert sum("no ink found" in line for line in out.splitlines()) == 1
    code, out, _ = run(capsys, "predict", model, tmp_path / "blank.png", tmp_path / "digit.png", "--json")
    first, second = json.loads(out)["predictions"]
    assert first["label"] is None and first["no_ink"] is True and first["unsure"] is False
    assert second["label"] == int(labels[0]) and second["no_ink"] is False
    assert run(capsys, "predict", model, tmp_path / "blank.png", "-o", tmp_path / "p.csv")[0] == 0
    (row,) = read_csv(tmp_path / "p.csv")
    assert row["predicted"] == "" and row["note"] == "no ink"


def test_the_mark_and_the_probability_follow_one_rule(model, digits, tmp_path, capsys) -> None:
    net = model_io.load(model)
    net.weights[-1] *= 0.8  # flatter outputs: some rows below 50%, some above
    model_io.save(net, tmp_path / "flat.safetensors")
    np.save(tmp_path / "rows.npy", digits.test.X[:40])
    code, out, _ = run(capsys, "predict", tmp_path / "flat.safetensors", tmp_path / "rows.npy", "--json")
    predictions = json.loads(out)["predictions"]
    shown = [max(p["probabilities"]) for p in predictions]
    assert any(p < 0.5 for p in shown) and any(p >= 0.5 for p in shown)
    assert [p["unsure"] for p in predictions] == [p < 0.5 for p in shown]
    code, out, _ = run(capsys, "predict", tmp_path / "flat.safetensors", tmp_path / "rows.npy")
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 4 and cells[1].isdigit():
            assert cells[2].endswith("?") == (float(cells[3].rstrip("%")) < 50), line


def test_raw_pixels_in_a_npy_give_one_warning_line(model, digits, tmp_path, capsys) -> None:
    np.save(tmp_path / "raw.npy", np.round(digits.test.X[:5] * 255))
    np.save(tmp_path / "scaled.npy", digits.test.X[:5])
    code, _, err = run(capsys, "predict", model, tmp_path / "raw.npy", tmp_path / "scaled.npy")
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deltaprop: warning: the rows of "), err
    assert "raw.npy" in lines[0] and "[0, 255]" in lines[0] and "divide by 255" in lines[0]
    assert "Traceback" not in err and "UnscaledInputWarning" not in err
    assert run(capsys, "predict", model, tmp_path / "scaled.npy")[2] == ""


def test_a_table_is_read_by_the_column_names_the_model_stores(tmp_path, capsys) -> None:
    net = Network([3, 5, 2], classes=["no", "yes"], seed=0)
    model_io.save(net, tmp_path / "m.safetensors",
                  extra_metadata={"features": ["a", "b", "c"], "label_column": "target"})
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(4, 3))
    lines = ["c;target;id;b;extra;a"] + [f"{x[2]};yes;row-{i};{x[1]};9;{x[0]}" for i, x in enumerate(X)]
    (tmp_path / "rows.tsv").write_text("\n".join(lines) + "\n")  # columns in another order, ';'
    out = tmp_path / "p.csv"
    code, _, err = run(capsys, "predict", tmp_path / "m.safetensors", tmp_path / "rows.tsv",
                       "--id-column", "id", "-o", out)
    assert code == 0, err
    table = read_csv(out)
    assert [row["id"] for row in table] == [f"row-{i}" for i in range(4)]
    expected = net.predict_proba(X)
    np.testing.assert_allclose([[float(row["p_no"]), float(row["p_yes"])] for row in table], expected)
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pandas.read_csv(tmp_path / "rows.tsv", sep=";").to_parquet(tmp_path / "rows.parquet")
    code, out_text, err = run(capsys, "predict", tmp_path / "m.safetensors", tmp_path / "rows.parquet",
                              "--id-column", "id", "--json")
    assert code == 0, err
    result = json.loads(out_text)
    assert [p["id"] for p in result["predictions"]] == [f"row-{i}" for i in range(4)]
    np.testing.assert_allclose([p["probabilities"] for p in result["predictions"]], expected)
