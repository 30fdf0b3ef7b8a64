"""deltaprop train: the run directory, --json, the options reaching the network and fit, one run of
``python -m deltaprop``, and its user errors, Ctrl-C and divergence leaving nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop.cli.train
from deltaprop import io as model_io
from deltaprop.errors import TrainingDivergedError

from .support import RUN_FILES, assert_one_line_error, check_user_error, leftovers, run

SUMMARY_KEYS = {"test_accuracy", "best_test_accuracy", "validation_accuracy",
                "best_validation_accuracy", "epochs_run", "seconds", "model_path", "history"}


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
    assert "eta" not in config["options"] and config["training"]["eta"] == 0.5
    assert config["training"]["batch_size"] == 10 and config["training"]["optimizer"] == "sgd"
    assert config["options"].keys().isdisjoint(config["training"])  # the configuration once
    assert config["dataset"]["image_shape"] == [8, 8]
    assert not (out.parent / "run.checkpoint").exists()  # the default checkpoint went at the end
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
        "--init", "he", "--eta", "0.1", "--momentum", "0.5", "--nesterov", "--lmbda", "0.1",
        "--l1", "0.01", "--dropout", "0.1", "--schedule", "1", "--early-stop", "2",
        "--dtype", "float32", "--batch-size", "20", "--epochs", "3", "--seed", "3",
        "--no-shuffle", "--train-metrics", "full", "--no-plots", "--quiet", "--json",
        "--out", tmp_path / "run",
    )
    assert code == 0, err
    assert err == ""
    meta = model_io.read_metadata(tmp_path / "run" / "model.safetensors")
    assert meta["sizes"] == [64, 16, 12, 10]
    assert meta["activations"] == ["relu", "relu", "softmax"]
    assert meta["cost"] == "log_likelihood" and meta["dtype"] == "float32"
    training = meta["training"]
    assert training["momentum"] == 0.5 and training["nesterov"] and training["dropout"] == 0.1
    assert training["schedule"] == 1 and training["early_stopping"] == 2
    assert training["batch_size"] == 20 and training["seed"] == 3 and training["l1"] == 0.01
    assert training["shuffle"] is False and training["train_metrics"] == "full"
    assert 1 <= json.loads(out)["epochs_run"] <= 3


def test_train_with_adam(tmp_path, capsys) -> None:
    code, out, err = run(capsys, "train", "--optimizer", "adam", "--beta-1", "0.8", "--beta-2",
                         "0.99", "--epsilon", "1e-7", "--epochs", "2", "--quiet", "--no-plots",
                         "--json", "--out", tmp_path / "run")
    assert code == 0, err
    training = model_io.read_metadata(tmp_path / "run" / "model.safetensors")["training"]
    assert training["optimizer"] == "adam" and training["eta"] == 0.001
    assert (training["beta_1"], training["beta_2"], training["epsilon"]) == (0.8, 0.99, 1e-7)
    assert json.loads(out)["test_accuracy"] > 0.2  # learning (chance: 0.1), slowly at η = 0.001


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


def test_kept_checkpoint_dir(tmp_path, capsys) -> None:
    code, _, err = run(capsys, "train", "--epochs", "1", "--quiet", "--no-plots",
                       "--out", tmp_path / "run", "--checkpoint-dir", tmp_path / "ckpt")
    assert code == 0, err
    assert (tmp_path / "ckpt" / "checkpoint.safetensors").is_file()  # asked for: kept


def test_python_dash_m_runs_the_command_line(tmp_path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--epochs", "1", "--quiet", "--no-plots",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "history.json", "config.json",
                                            "snapshots.npz"}


# -- errors: one line on stderr, exit 2, nothing left behind -------------------------------------

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
    "beta-2 1": (["train", "--beta-2", "1"], ["--beta-2"]),
    "unknown optimizer": (["train", "--optimizer", "lbfgs"], ["--optimizer", "lbfgs"]),
    "nesterov without momentum": (["train", "--nesterov"], ["nesterov", "momentum"]),
    "schedule without validation": (["train", "--data", "{tiny}", "--schedule", "2"],
                                    ["validation"]),
    "unknown activation": (["train", "--activation", "swish"], ["swish", "sigmoid"]),
    "unknown cost": (["train", "--cost", "hinge"], ["hinge"]),
    "unknown init": (["train", "--init", "zeros"], ["zeros"]),
    "bad pairing": (["train", "--output-activation", "relu"], ["cross_entropy", "relu"]),
    "softmax hidden": (["train", "--activation", "softmax"], ["softmax"]),
    "non-empty out": (["train", "--out", "{nonempty}"], ["--out", "already holds files",
                                                        "choose another --out"]),
    "out is a file": (["train", "--out", "{bad_csv}"], ["--out", "is a file", "expected a new or "
                                                        "empty folder"]),
    "checkpoint dir is a file": (["train", "--checkpoint-dir", "{bad_csv}"],
                                 ["--checkpoint-dir", "is a file", "expected a folder"]),
    "checkpoint dir holds files": (["train", "--checkpoint-dir", "{nonempty}"],
                                   ["--checkpoint-dir", "not deltaprop's"]),
    "huge lmbda": (["train", "--lmbda", "1e308"], ["--lmbda", "overflows"]),
    "unstable lmbda": (["train", "--lmbda", "1e5"], ["--lmbda", "diverges", "below"]),
    "huge l1": (["train", "--l1", "1e308", "--optimizer", "adam"], ["--l1", "overflows"]),
    "resume a file": (["train", "--resume", "{bad_csv}"], ["--resume", "is a file"]),
    "resume nothing": (["train", "--resume", "{tmp}/nowhere"], ["--resume", "no such folder"]),
    "no command": ([], ["command"]),
    "unknown command": (["fit"], ["fit"]),
}


@pytest.fixture()
def tiny(tmp_path, digits) -> Path:
    """A data set so small that its validation split is empty (three rows of three classes)."""
    path = tmp_path / "tiny.npz"
    rows = [int(np.flatnonzero(digits.train.y == label)[0]) for label in (0, 1, 2)]
    np.savez(path, X=digits.train.X[rows], y=digits.train.y[rows])
    return path


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_user_errors_exit_2_with_one_line(case, bad_files, tiny, tmp_path, capsys,
                                          monkeypatch) -> None:
    argv, fragments = ERROR_CASES[case]
    check_user_error(capsys, monkeypatch, tmp_path, argv, fragments, {**bad_files, "tiny": tiny})
    assert [p.name for p in bad_files["nonempty"].iterdir()] == ["keep.txt"]


def test_interrupted_training_exits_130_and_leaves_nothing(tmp_path, capsys, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(deltaprop.cli.train, "run_training", interrupted)
    out = tmp_path / "new" / "nested" / "run"
    code, stdout, stderr = run(capsys, "train", "--out", out, "--quiet")
    assert code == 130
    assert stderr.strip() == "deltaprop: interrupted"
    assert list(tmp_path.iterdir()) == []  # not even the parent folders made for the run


def test_diverged_training_exits_2_and_leaves_nothing(tmp_path, capsys, monkeypatch) -> None:
    def diverged(*args, **kwargs):
        raise TrainingDivergedError("training diverged in epoch 1: try a smaller eta (now 1e+06)")

    monkeypatch.setattr(deltaprop.cli.train, "run_training", diverged)
    code, stdout, stderr = run(capsys, "train", "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(code, stdout, stderr, "diverged", "smaller eta")
    assert list(tmp_path.iterdir()) == []


def test_a_diverging_run_names_each_suspect_once(tmp_path, capsys) -> None:
    """The library's advice, in flags, once: not followed by the command line's own."""
    code, out, err = run(capsys, "train", "--activation", "linear", "--output-activation", "linear",
                         "--cost", "quadratic", "--eta", "10", "--lmbda", "0.1", "--l1", "0.1",
                         "--epochs", "2", "--quiet", "--no-plots", "--out", tmp_path / "run")
    assert_one_line_error(code, out, err, "diverged", "a smaller --eta (now 10), or a smaller --lmbda "
                          "(now 0.1), or a smaller --l1 (now 0.1)")
    for suspect in ("eta", "lmbda", "l1"):
        assert err.count(f"smaller --{suspect} ") == 1 and f"smaller {suspect} " not in err
    assert list(tmp_path.iterdir()) == []


def test_help_exits_0(capsys) -> None:
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    assert "--hidden" in out and "--early-stop" in out and "--no-shuffle" in out
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("train", "evaluate", "predict", "gradcheck", "info", "bench"):
        assert command in out


@pytest.mark.parametrize("cost", ["log_likelihood", "cross_entropy"])
def test_one_class_data_is_refused_naming_the_class(capsys, monkeypatch, tmp_path, cost):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "one.npz", X=rng.random((40, 4)), y=np.full(40, 3))
    check_user_error(capsys, monkeypatch, tmp_path,
                     ["train", "--data", "{tmp}/one.npz", "--cost", cost],
                     ["single class (label 3)", "at least two classes"], {})
