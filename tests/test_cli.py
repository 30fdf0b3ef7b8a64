"""The command line: every subcommand in-process through main(), one run of ``python -m deltaprop``,
and every user error as one line on stderr with exit status 2 and nothing left behind."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimage

from deltaprop import Network, cli
from deltaprop import io as model_io
from deltaprop.datasets import load_dataset
from deltaprop.errors import TrainingDivergedError

RUN_FILES = {"model.safetensors", "history.json", "config.json", "curves.png",
             "learning_speed.png", "confusion_matrix.png", "first_layer_weights.png"}
SUMMARY_KEYS = {"test_accuracy", "best_test_accuracy", "validation_accuracy",
                "best_validation_accuracy", "epochs_run", "seconds", "model_path", "history"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deltaprop: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary run directories left in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> tuple[Path, str]:
    """A default run (2 epochs, with plots, bar and table) and what it printed on stdout."""
    out = tmp_path_factory.mktemp("trained") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["train", "--epochs", "2", "--out", str(out)])
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue()


@pytest.fixture()
def model(trained_run) -> Path:
    return trained_run[0] / "model.safetensors"


# -- train ---------------------------------------------------------------------------------------


def test_train_writes_a_complete_run_directory(trained_run) -> None:
    out, stdout = trained_run
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert leftovers(out.parent) == []
    for name in RUN_FILES:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history["records"]] == [1, 2]
    assert history["stop_reason"] == "completed"
    config = json.loads((out / "config.json").read_text())
    assert config["network"]["sizes"] == [64, 30, 10]
    assert config["network"]["activations"] == ["sigmoid", "sigmoid"]
    assert config["network"]["cost"] == "cross_entropy"
    assert config["options"]["eta"] == 0.5 and config["options"]["batch_size"] == 10
    assert config["dataset"]["image_shape"] == [8, 8]
    assert "epoch" in stdout and "val acc" in stdout  # the per-epoch table
    assert "test accuracy:" in stdout


def test_train_json_prints_exactly_one_object(tmp_path, capsys) -> None:
    code, out, err = run(capsys, "train", "--epochs", "2", "--no-plots", "--json",
                         "--out", tmp_path / "run")
    assert code == 0
    summary = json.loads(out)  # the whole of stdout is one JSON object
    assert summary.keys() >= SUMMARY_KEYS
    assert summary["epochs_run"] == 2 and len(summary["history"]) == 2
    assert summary["test_accuracy"] == summary["history"][-1]["test_accuracy"]
    assert summary["best_test_accuracy"] >= summary["test_accuracy"]
    assert Path(summary["model_path"]) == (tmp_path / "run" / "model.safetensors").absolute()
    assert Path(summary["model_path"]).is_file()
    assert "val acc" in err  # the table went to stderr
    assert not (tmp_path / "run" / "curves.png").exists()


def test_default_training_reaches_95_percent(tmp_path, capsys) -> None:
    code, out, _ = run(capsys, "train", "--quiet", "--no-plots", "--json", "--out", tmp_path / "r")
    summary = json.loads(out)
    assert code == 0
    assert summary["epochs_run"] == 30
    assert summary["test_accuracy"] >= 0.95


def test_train_options_reach_the_network_and_fit(tmp_path, capsys) -> None:
    code, out, err = run(
        capsys, "train", "--hidden", "16,12", "--activation", "relu", "--cost", "log-likelihood",
        "--init", "he", "--eta", "0.1", "--momentum", "0.5", "--lmbda", "0.1", "--l1", "0.01",
        "--dropout", "0.1", "--schedule", "1", "--early-stop", "2", "--dtype", "float32",
        "--batch-size", "20", "--epochs", "3", "--seed", "3", "--no-plots", "--quiet", "--json",
        "--out", tmp_path / "run",
    )
    assert code == 0, err
    assert err == ""
    meta = model_io.read_metadata(tmp_path / "run" / "model.safetensors")
    assert meta["sizes"] == [64, 16, 12, 10]
    assert meta["activations"] == ["relu", "relu", "softmax"]
    assert meta["cost"] == "log_likelihood" and meta["dtype"] == "float32"
    training = meta["training"]
    assert training["momentum"] == 0.5 and training["dropout"] == 0.1
    assert training["schedule"] == 1 and training["early_stopping"] == 2
    assert training["batch_size"] == 20 and training["seed"] == 3 and training["l1"] == 0.01
    assert 1 <= json.loads(out)["epochs_run"] <= 3


def test_train_on_a_csv_file_into_an_empty_existing_folder(tmp_path, capsys, digits) -> None:
    data = tmp_path / "small.csv"
    header = ",".join(["label", *(f"p{i}" for i in range(64))])
    rows = [",".join([str(y), *(f"{v:g}" for v in x)])
            for x, y in zip(digits.train.X[:200], digits.train.y[:200], strict=True)]
    data.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "empty"
    out.mkdir()
    code, _, err = run(capsys, "train", "--data", data, "--cost", "cross-entropy", "--epochs", "1",
                       "--quiet", "--out", out)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == RUN_FILES  # 8x8 = 64 features: weights plotted


def test_python_dash_m_runs_the_command_line(tmp_path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--epochs", "1", "--quiet", "--no-plots",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "history.json", "config.json"}


# -- evaluate, info, gradcheck -------------------------------------------------------------------


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

    code, out, _ = run(capsys, "evaluate", model, "--data", "digits", "--split", "validation")
    assert code == 0
    assert "validation data" in out and "accuracy" in out and "recall" in out


def test_info_describes_the_model(model, capsys) -> None:
    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["sizes"] == [64, 30, 10] and info["parameters"] == 64 * 30 + 30 + 30 * 10 + 10
    assert info["activations"] == ["sigmoid", "sigmoid"] and info["cost"] == "cross_entropy"
    assert info["dtype"] == "float64" and info["training"]["epochs"] == 2
    assert info["deltaprop_version"]
    code, out, _ = run(capsys, "info", model)
    assert code == 0
    assert "2,260" in out and "cross_entropy" in out and "sigmoid" in out


def test_gradcheck_compares_backprop_with_finite_differences(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--max-params", "300", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["passed"] and result["max_error"] < 1e-6
    assert [layer["layer"] for layer in result["layers"]] == [1, 2]
    checked = sum(layer["checked"] for layer in result["layers"])
    assert checked == 300 and result["finite_difference_evaluations"] == 2 * checked
    assert result["backprop_evaluations"] == 1

    code, out, _ = run(capsys, "gradcheck", "--sizes", "64,12,10", "--data", "digits",
                       "--activation", "tanh", "--cost", "log_likelihood", "--rows", "5")
    assert code == 0
    assert "weight error" in out and "speed-up" in out and "OK" in out


def test_gradcheck_exits_1_when_the_check_fails(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--sizes", "3,4,2", "--tolerance", "1e-300")
    assert code == 1
    assert "FAILED" in out


# -- predict -------------------------------------------------------------------------------------


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


def test_area_resize_and_grayscale() -> None:
    image = np.arange(16.0).reshape(4, 4)
    np.testing.assert_allclose(cli._area_resize(image, (4, 4)), image)
    np.testing.assert_allclose(cli._area_resize(image, (2, 2)), [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_allclose(cli._area_resize(np.kron(image, np.ones((3, 3))), (4, 4)), image)
    rgba = np.zeros((2, 2, 4))  # transparent: counts as white
    rgba[0, 0] = [1, 1, 1, 1]  # opaque white
    rgba[0, 1] = [0, 0, 0, 1]  # opaque black
    rgba[1, 0] = [0, 0, 0, 0.25]  # black, a quarter opaque
    np.testing.assert_allclose(cli._grayscale(rgba), [[1, 0], [0.75, 1]])


# -- errors: one line on stderr, exit 2, nothing left behind -------------------------------------


@pytest.fixture()
def bad_files(tmp_path) -> dict[str, Path]:
    files = {
        "bad_csv": tmp_path / "bad.csv",
        "corrupt_model": tmp_path / "corrupt.safetensors",
        "bad_npy": tmp_path / "bad.npy",
        "mismatched_model": tmp_path / "small.safetensors",
        "text": tmp_path / "rows.txt",
        "corrupt_png": tmp_path / "fake.png",
        "nonempty": tmp_path / "nonempty",
        "png": tmp_path / "digit.png",
        "npy64": tmp_path / "rows64.npy",
    }
    files["bad_csv"].write_text("label,a,b\n1,2,oops\n")
    files["corrupt_model"].write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    files["bad_npy"].write_text("this is not an array")
    files["text"].write_text("1,2,3\n")
    files["corrupt_png"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    files["nonempty"].mkdir()
    (files["nonempty"] / "keep.txt").write_text("mine")
    Network([10, 5, 10], cost="cross_entropy").save(files["mismatched_model"])
    mpimage.imsave(files["png"], np.eye(8), cmap="gray")
    np.save(files["npy64"], np.zeros((3, 64)))
    return files


ERROR_CASES = {
    "missing data file": (["train", "--data", "{tmp}/nope.npz"], ["nope.npz"]),
    "malformed csv": (["train", "--data", "{bad_csv}"], ["bad.csv", "oops"]),
    "unknown data spec": (["train", "--data", "cifar"], ["cifar"]),
    "missing idx folder": (["train", "--data", "idx:{tmp}/nowhere"], ["nowhere"]),
    "bad hidden": (["train", "--hidden", "10,x"], ["--hidden", "10,x"]),
    "negative eta": (["train", "--eta", "-1"], ["--eta", "-1"]),
    "nan eta": (["train", "--eta", "nan"], ["--eta"]),
    "zero epochs": (["train", "--epochs", "0"], ["--epochs"]),
    "momentum 1": (["train", "--momentum", "1"], ["--momentum"]),
    "unknown activation": (["train", "--activation", "swish"], ["swish", "sigmoid"]),
    "unknown cost": (["train", "--cost", "hinge"], ["hinge"]),
    "unknown init": (["train", "--init", "zeros"], ["zeros"]),
    "bad pairing": (["train", "--output-activation", "relu"], ["cross_entropy", "relu"]),
    "softmax hidden": (["train", "--activation", "softmax"], ["softmax"]),
    "non-empty out": (["train", "--out", "{nonempty}"], ["not empty"]),
    "out is a file": (["train", "--out", "{bad_csv}"], ["not a directory"]),
    "input size mismatch": (["evaluate", "{mismatched_model}", "--data", "digits"],
                            ["10 inputs", "64 features"]),
    "missing model": (["evaluate", "{tmp}/none.safetensors"], ["none.safetensors"]),
    "corrupt model": (["evaluate", "{corrupt_model}"], ["corrupt.safetensors"]),
    "corrupt model info": (["info", "{corrupt_model}"], ["corrupt.safetensors"]),
    "info on a data file": (["info", "{bad_csv}"], ["bad.csv"]),
    "predict missing file": (["predict", "{model}", "{tmp}/none.npy"], ["none.npy"]),
    "predict bad npy": (["predict", "{model}", "{bad_npy}"], ["bad.npy"]),
    "predict bad csv": (["predict", "{model}", "{bad_csv}"], ["bad.csv"]),
    "predict png wrong model": (["predict", "{mismatched_model}", "{png}"], ["10 inputs"]),
    "predict corrupt png": (["predict", "{model}", "{corrupt_png}"], ["fake.png"]),
    "predict unknown type": (["predict", "{model}", "{text}"], ["rows.txt"]),
    "predict size mismatch": (["predict", "{mismatched_model}", "{npy64}"], ["(3, 64)", "10"]),
    "gradcheck bad sizes": (["gradcheck", "--sizes", "64"], ["--sizes"]),
    "gradcheck digits sizes": (["gradcheck", "--sizes", "3,2", "--data", "digits"], ["64"]),
    "no command": ([], ["command"]),
    "unknown command": (["fit"], ["fit"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, model, tmp_path, capsys,
                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv, fragments = ERROR_CASES[case]
    names = {"tmp": tmp_path, "model": model, **bad_files}
    argv = [arg.format(**names) for arg in argv]
    out = tmp_path / "run"
    if argv and argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(out), "--epochs", "1", "--quiet"]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = run(capsys, *argv)
    assert_one_line_error(code, stdout, stderr, *fragments)
    assert not out.exists() and not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if case == "non-empty out":
        assert [p.name for p in bad_files["nonempty"].iterdir()] == ["keep.txt"]


def test_interrupted_training_exits_130_and_leaves_nothing(tmp_path, capsys, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run_training", interrupted)
    out = tmp_path / "new" / "nested" / "run"
    code, stdout, stderr = run(capsys, "train", "--out", out, "--quiet")
    assert code == 130
    assert stderr.strip() == "deltaprop: interrupted"
    assert list(tmp_path.iterdir()) == []  # not even the parent folders made for the run


def test_diverged_training_exits_2_and_leaves_nothing(tmp_path, capsys, monkeypatch) -> None:
    def diverged(*args, **kwargs):
        raise TrainingDivergedError("training diverged in epoch 1: try a smaller eta (now 1e+06)")

    monkeypatch.setattr(cli, "_run_training", diverged)
    code, stdout, stderr = run(capsys, "train", "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(code, stdout, stderr, "diverged", "smaller eta")
    assert list(tmp_path.iterdir()) == []


def test_help_exits_0(capsys) -> None:
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    assert "--hidden" in out and "--early-stop" in out


def test_bench_subcommand_hands_its_options_to_the_benchmark_suite(capsys):
    assert cli.main(["bench", "--help"]) == 0
    assert "--runs" in capsys.readouterr().out
