"""deltaprop train under SIGINT / SIGTERM, then --resume: the run ends as an uninterrupted one, with
the options read back from the checkpoint."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop.cli import main

TRAIN = ["train", "--epochs", "60", "--momentum", "0.5", "--dropout", "0.1", "--quiet",
         "--no-plots"]
# The same BLAS thread count as this process, which runs the uninterrupted and the resumed parts:
# results are bitwise reproducible for one thread count (see README, Determinism).
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def _start(args):
    return subprocess.Popen([sys.executable, "-m", "deltaprop", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(path: Path, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _parameters(path):
    net = deltaprop.load(path)
    return net.weights + net.biases


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return _parameters(out / "model.safetensors")


@pytest.mark.parametrize(("signal_number", "exit_code"),
                         [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_and_resume_finishes_the_same_run(
        tmp_path, straight_run, signal_number, exit_code, capsys):
    out, checkpoints = tmp_path / "run", tmp_path / "ckpt"
    process = _start([*TRAIN, "--out", str(out), "--checkpoint-dir", str(checkpoints)])
    _wait_for(checkpoints / "checkpoint.safetensors", process)
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == exit_code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    assert f"resume with: deltaprop train --resume {checkpoints}" in lines[0]
    assert not out.exists()  # no half-written run directory
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    assert main(["train", "--resume", str(checkpoints), "--quiet", "--no-plots"]) == 0
    capsys.readouterr()
    for got, want in zip(_parameters(out / "model.safetensors"), straight_run, strict=True):
        np.testing.assert_array_equal(got, want)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "history.json",
                                                     "model.safetensors", "snapshots.npz"]


def test_without_checkpoint_dir_the_default_checkpoint_is_used_and_cleaned_up(tmp_path, capsys):
    out = tmp_path / "run"
    default = tmp_path / "run.checkpoint"
    process = _start([*TRAIN, "--out", str(out)])
    _wait_for(default / "checkpoint.safetensors", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and f"--resume {default}" in stderr
    assert main(["train", "--resume", str(default), "--quiet", "--no-plots"]) == 0
    assert (out / "model.safetensors").exists()
    assert not default.exists()  # a checkpoint nobody asked to keep goes once the run is done


def test_a_second_signal_stops_at_once(tmp_path):
    checkpoints = tmp_path / "ckpt"
    process = _start([*TRAIN, "--data", "digits", "--hidden", "400,400", "--batch-size", "1",
                      "--out", str(tmp_path / "run"), "--checkpoint-dir", str(checkpoints)])
    _wait_for(checkpoints / "checkpoint.safetensors", process)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "Traceback" not in stderr
    assert (checkpoints / "checkpoint.safetensors").exists()


def test_resume_refuses_changed_options_and_foreign_checkpoints(tmp_path, capsys):
    checkpoints = tmp_path / "ckpt"
    process = _start([*TRAIN, "--out", str(tmp_path / "run"), "--checkpoint-dir", str(checkpoints)])
    _wait_for(checkpoints / "checkpoint.safetensors", process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert main(["train", "--resume", str(checkpoints), "--eta", "3"]) == 2
    assert "--eta 3.0 differs" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (checkpoints / "checkpoint.safetensors").write_bytes(b"garbage")
    assert main(["train", "--resume", str(checkpoints)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_resumed_run_may_move_its_checkpoints(tmp_path, straight_run, capsys):
    first, second = tmp_path / "ckpt", tmp_path / "moved"
    process = _start([*TRAIN, "--out", str(tmp_path / "run"), "--checkpoint-dir", str(first)])
    _wait_for(first / "checkpoint.safetensors", process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert main(["train", "--resume", str(first), "--checkpoint-dir", str(second), "--quiet",
                 "--no-plots", "--json"]) == 0
    assert '"epochs_run": 60' in capsys.readouterr().out
    for got, want in zip(_parameters(tmp_path / "run" / "model.safetensors"), straight_run,
                         strict=True):
        np.testing.assert_array_equal(got, want)
    assert (second / "checkpoint.safetensors").is_file()  # asked for: kept


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("data", 5, "stored option 'data'"),
    ("epochs", "many", "stored option 'epochs'"),
    ("hidden", [30, -1], "stored option 'hidden'"),
    ("cost", "no_such_cost", "stored option 'cost'"),
    ("no_such_option", 1, "not an option of 'deltaprop train'"),
    ("no_plots", "yes", "expected true or false"),
])
def test_tampered_stored_options_are_one_line(tmp_path, capsys, key, value, fragment):
    from deltaprop import io

    checkpoints = tmp_path / "ckpt"
    assert main(["train", "--epochs", "1", "--quiet", "--no-plots", "--out", str(tmp_path / "run"),
                 "--checkpoint-dir", str(checkpoints)]) == 0
    capsys.readouterr()
    path = checkpoints / "checkpoint.safetensors"
    net, meta, slots = io.load_with_metadata(path)
    state = meta["checkpoint"]
    state["extra"]["cli"][key] = value
    io.save(net, path, extra_metadata={"checkpoint": state}, slots=slots)
    assert main(["train", "--resume", str(checkpoints), "--out", str(tmp_path / "again")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fragment in err
