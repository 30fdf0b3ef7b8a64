"""deltaprop predict: .npy rows and images, .csv with and without header, PNG images, and errors.

The decoding itself is tested with ``deltaprop.datasets.inputs`` (tests/datasets/test_inputs.py);
these tests check that the command reads each kind of file the model's way and shows the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimage

from deltaprop import io as model_io
from deltaprop.cli import predict as predict_command

from .support import check_user_error, run


@pytest.fixture()
def confident_rows(model, digits) -> tuple[np.ndarray, np.ndarray]:
    """Test rows the model classifies with probability > 0.8, and its labels for them."""
    net = model_io.load(model)
    outputs = net.feedforward(digits.test.X)
    probabilities = outputs / outputs.sum(axis=1, keepdims=True)
    keep = probabilities.max(axis=1) > 0.8
    assert keep.sum() >= 5
    return digits.test.X[keep][:5], np.argmax(outputs[keep][:5], axis=1)


def predict_labels(capsys, model: Path, file: Path, *options: str) -> list[int]:
    code, out, err = run(capsys, "predict", model, file, "--json", *options)
    assert code == 0, err
    result = json.loads(out)
    for prediction in result["predictions"]:
        assert len(prediction["probabilities"]) == 10
        assert sum(prediction["probabilities"]) == pytest.approx(1)
        assert prediction["label"] == int(np.argmax(prediction["probabilities"]))
    return result["labels"]


def test_predict_npy_rows_one_row_and_images(model, confident_rows, tmp_path, capsys) -> None:
    X, labels = confident_rows
    np.save(tmp_path / "rows.npy", X)
    np.save(tmp_path / "one.npy", X[0])
    np.save(tmp_path / "images.npy", X.reshape(-1, 8, 8))
    np.save(tmp_path / "image.npy", X[0].reshape(8, 8))
    assert predict_labels(capsys, model, tmp_path / "rows.npy") == labels.tolist()
    assert predict_labels(capsys, model, tmp_path / "one.npy") == [labels[0]]
    assert predict_labels(capsys, model, tmp_path / "images.npy") == labels.tolist()
    assert predict_labels(capsys, model, tmp_path / "image.npy") == [labels[0]]

    code, out, _ = run(capsys, "predict", model, tmp_path / "one.npy")
    assert code == 0
    assert f"predicted label: {labels[0]}" in out


def test_predict_table_shows_the_first_50_rows(model, confident_rows, tmp_path, capsys) -> None:
    X, _ = confident_rows
    np.save(tmp_path / "many.npy", np.resize(X, (60, 64)))
    code, out, _ = run(capsys, "predict", model, tmp_path / "many.npy")
    assert code == 0
    assert "runners-up" in out and "10 more rows (use --json or -o for all)" in out


def test_predict_csv_with_and_without_header(model, confident_rows, tmp_path, capsys) -> None:
    X, labels = confident_rows
    header = ",".join(["label", *(f"p{i}" for i in range(64))])
    with_label = [",".join(["9", *map(repr, map(float, x))]) for x in X]
    (tmp_path / "labelled.csv").write_text("\n".join([header, *with_label]) + "\n")
    (tmp_path / "plain.csv").write_text("\n".join(",".join(map(repr, map(float, x))) for x in X))
    assert predict_labels(capsys, model, tmp_path / "labelled.csv") == labels.tolist()
    assert predict_labels(capsys, model, tmp_path / "plain.csv") == labels.tolist()


def test_predict_png_dark_and_light_backgrounds(model, confident_rows, tmp_path, capsys) -> None:
    X, labels = confident_rows
    image = X[0].reshape(8, 8)
    mpimage.imsave(tmp_path / "dark.png", image, cmap="gray", vmin=0, vmax=1)
    # Dark ink on white, ten times larger: inverted and area-resized back to 8x8.
    mpimage.imsave(tmp_path / "light.png", np.kron(1 - image, np.ones((10, 10))), cmap="gray",
                   vmin=0, vmax=1)
    assert predict_labels(capsys, model, tmp_path / "dark.png") == [labels[0]]
    assert predict_labels(capsys, model, tmp_path / "light.png") == [labels[0]]
    assert predict_labels(capsys, model, tmp_path / "light.png", "--invert", "no") != [labels[0]]


ERROR_CASES = {
    "missing file": (["predict", "{model}", "{tmp}/none.npy"], ["none.npy"]),
    "bad npy": (["predict", "{model}", "{bad_npy}"], ["bad.npy"]),
    "bad csv": (["predict", "{model}", "{bad_csv}"], ["bad.csv"]),
    "png wrong model": (["predict", "{mismatched_model}", "{png}"], ["10 inputs"]),
    "corrupt png": (["predict", "{model}", "{corrupt_png}"], ["fake.png"]),
    "unknown type": (["predict", "{model}", "{text}"], ["rows.txt"]),
    "size mismatch": (["predict", "{mismatched_model}", "{npy64}"], ["(3, 64)", "10"]),
    "bad invert": (["predict", "{model}", "{png}", "--invert", "maybe"], ["--invert", "maybe"]),
    "glob without match": (["predict", "{model}", "{tmp}/nothing*.png"], ["no file matches", "nothing*"]),
    "show-input not png": (["predict", "{model}", "{png}", "--show-input", "{tmp}/seen.jpg"],
                           ["--show-input", "must end in .png"]),
    "show-input no folder": (["predict", "{model}", "{png}", "--show-input", "{tmp}/no/seen.png"],
                             ["no/seen.png"]),
    "bad prepare": (["predict", "{model}", "{png}", "--prepare", "mnist"], ["--prepare", "mnist"]),
    "show-input no image": (["predict", "{mismatched_model}", "{tmp}/rows10.csv", "--show-input",
                             "{tmp}/seen.png"], ["--show-input", "10 inputs are no image"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, model, tmp_path, capsys,
                                          monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    (tmp_path / "rows10.csv").write_text(",".join(["0.5"] * 10) + "\n")
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {**bad_files, "model": model})


def _photo(image: np.ndarray, side: int = 200) -> np.ndarray:
    """An 8x8 digit (light on black) as a side x side photo: dark ink on unevenly lit, noisy paper,
    with a margin of paper around it (a tenth of the side, as a photo of a digit has)."""
    big = np.kron(np.pad(image, 1), np.ones((side // 10, side // 10)))
    rows, columns = np.mgrid[0:big.shape[0], 0:big.shape[1]] / big.shape[0]
    paper = 0.55 + 0.32 * columns + 0.1 * rows
    noise = np.random.default_rng(0).normal(0, 0.03, big.shape)
    return (paper * (1 - 0.8 * big) + noise).clip(0, 1)


def test_predict_photos_several_files_and_globs(model, confident_rows, tmp_path, capsys,
                                                monkeypatch) -> None:
    from PIL import Image

    X, labels = confident_rows
    for i in range(3):
        gray = np.round(_photo(X[i].reshape(8, 8)) * 255).astype(np.uint8)
        Image.fromarray(gray).save(tmp_path / f"photo{i}.{'jpg' if i == 2 else 'png'}")
    np.save(tmp_path / "rows.npy", X[3:5])
    monkeypatch.chdir(tmp_path)
    # A quoted glob (expanded by predict, sorted), a file, and rows: one prediction per row.
    code, out, err = run(capsys, "predict", model, "photo*", "rows.npy", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["files"] == ["photo0.png", "photo1.png", "photo2.jpg", "rows.npy"]
    assert result["labels"] == labels[:5].tolist()
    assert [(p["file"], p["row"]) for p in result["predictions"]] == [
        ("photo0.png", 0), ("photo1.png", 0), ("photo2.jpg", 0), ("rows.npy", 0), ("rows.npy", 1)]
    seen = np.array(result["predictions"][0]["input"])  # what the network saw: 8x8 in [0, 1]
    assert seen.shape == (8, 8) and seen.min() == 0 and seen.max() > 0.7
    assert "input" not in result["predictions"][3]  # rows are used as they are
    assert all(p["unsure"] is False for p in result["predictions"])
    code, out, _ = run(capsys, "predict", model, "photo*")
    assert code == 0 and "file" in out and "photo2.jpg" in out and "note:" not in out


def test_predict_show_input_single_and_grid(model, confident_rows, tmp_path, capsys) -> None:
    from PIL import Image

    X, _ = confident_rows
    np.save(tmp_path / "one.npy", X[0])
    np.save(tmp_path / "rows.npy", X)
    code, out, err = run(capsys, "predict", model, tmp_path / "one.npy", "--show-input",
                         tmp_path / "one.png")
    assert code == 0, err
    assert "one.png" in out
    single = np.asarray(Image.open(tmp_path / "one.png"))
    scale = -(-predict_command.SHOWN_SIDE // 8)
    assert single.shape == (8 * scale + 8, 8 * scale + 8)  # one enlarged tile in a 4-pixel frame
    tile = single[4:-4, 4:-4][::scale, ::scale] / 255
    np.testing.assert_allclose(tile, X[0].reshape(8, 8), atol=1 / 255)
    assert run(capsys, "predict", model, tmp_path / "rows.npy", "--show-input",
               tmp_path / "grid.png")[0] == 0
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (8 * scale + 8, 5 * (8 * scale + 4) + 4)  # five tiles in a row
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_predict_says_when_the_network_is_unsure(model, confident_rows, tmp_path, capsys) -> None:
    X, _ = confident_rows
    net = model_io.load(model)
    net.weights[-1][...] = 0.0  # every output the same: each class 10% probable, none claims an input
    net.biases[-1][...] = 0.0
    model_io.save(net, tmp_path / "unsure.safetensors")
    np.save(tmp_path / "one.npy", X[0])
    np.save(tmp_path / "rows.npy", np.resize(X, (8, 64)))
    code, out, _ = run(capsys, "predict", tmp_path / "unsure.safetensors", tmp_path / "one.npy")
    assert code == 0
    assert "note: the network is unsure of row 0" in " ".join(out.split())
    assert "no class reaches a probability of 50% (the highest, 10.0%" in " ".join(out.split())
    assert " 0 ? " in out and "10.0%" in out
    code, out, _ = run(capsys, "predict", tmp_path / "unsure.safetensors", tmp_path / "rows.npy")
    assert "unsure of 8 of 8 rows" in " ".join(out.split())
    code, out, _ = run(capsys, "predict", tmp_path / "unsure.safetensors", tmp_path / "one.npy",
                       "--json")
    assert json.loads(out)["predictions"][0]["unsure"] is True
    code, out, _ = run(capsys, "predict", model, tmp_path / "one.npy")
    assert "unsure" not in out


def test_predict_shows_the_models_classes(tmp_path, capsys) -> None:
    from deltaprop import Network

    net = Network([4, 5, 3], classes=["cat", "dog", "eel"], seed=0)
    model_io.save(net, tmp_path / "animals.safetensors")
    rows = np.random.default_rng(0).uniform(size=(3, 4))
    np.save(tmp_path / "rows.npy", rows)
    expected = [["cat", "dog", "eel"][k] for k in np.argmax(net.feedforward(rows), axis=1)]
    code, out, err = run(capsys, "predict", tmp_path / "animals.safetensors", tmp_path / "rows.npy",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["labels"] == expected
    code, out, _ = run(capsys, "predict", tmp_path / "animals.safetensors", tmp_path / "rows.npy")
    assert code == 0 and all(f" {label} " in out for label in expected) and "cat:" in out


def test_predict_bounds_the_rows_of_all_files_together(model, confident_rows, tmp_path, capsys,
                                                       monkeypatch) -> None:
    X, _ = confident_rows
    np.save(tmp_path / "a.npy", X)
    np.save(tmp_path / "b.npy", X)
    monkeypatch.setattr(predict_command, "MAX_DATA_BYTES", 3 * X.nbytes)  # one file fits, not two
    assert run(capsys, "predict", model, tmp_path / "a.npy")[0] == 0
    code, out, err = run(capsys, "predict", model, tmp_path / "a.npy", tmp_path / "b.npy")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("deltaprop: error: the rows of 2 files would need")
