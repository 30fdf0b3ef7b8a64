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
    assert "runners-up" in out and "10 more rows (use --json for all)" in out


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
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, model, tmp_path, capsys,
                                          monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {**bad_files, "model": model})
