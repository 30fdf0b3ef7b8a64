"""deltaprop train never loses a run nor anything of the user's: paths stored absolute, output
locations checked before training, checkpoint folders marked, locked and cleaned up file by file,
the run directory complete or absent whatever fails while it is written (disk full, a signal,
another run taking --out)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

import deltaprop.cli.train
import deltaprop.cli.train_output
from deltaprop import checkpoint as checkpoint_module
from deltaprop import io as model_io
from deltaprop.checkpoint import load_checkpoint
from deltaprop.cli._common import MAX_MESSAGE
from deltaprop.cli.train import diverged_hint
from deltaprop.cli.train_plan import MARKER, check_regularization, decay_limit
from deltaprop.cli.train_run import StopOnSignal
from deltaprop.errors import TrainingDivergedError
from deltaprop.limits import shorten_middle
from deltaprop.network import Network
from deltaprop.options import TrainingConfig

from .support import RUN_FILES, assert_one_line_error, run

QUICK = ["--quiet", "--no-plots"]
RUN = {"model.safetensors", "history.json", "config.json", "snapshots.npz"}
DEAD = 999_999_999  # above any pid_max


class StopSoon(StopOnSignal):
    """Asks to stop after 5 mini-batches, as a SIGINT would."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def requested(self) -> bool:
        self.calls += 1
        if self.calls >= 5:
            self.signal_number = signal.SIGINT
        return self.signal_number is not None


def interrupted(capsys, monkeypatch, *argv) -> str:
    """Run ``deltaprop train ARGV``, stopped in its first epoch; returns its stderr."""
    with monkeypatch.context() as patch:
        patch.setattr(deltaprop.cli.train, "StopOnSignal", StopSoon)
        code, _, err = run(capsys, "train", "--epochs", "3", *QUICK, *argv)
    assert code == 130, err
    return err


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_stored_paths_are_absolute_so_a_resume_from_elsewhere_means_the_same_files(
        tmp_path, capsys, monkeypatch, digits):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    np.savez(here / "small.npz", X=digits.train.X[:300], y=digits.train.y[:300])
    monkeypatch.chdir(here)
    interrupted(capsys, monkeypatch, "--out", "run", "--data", "small.npz")
    stored = load_checkpoint(here / "run.checkpoint").state["extra"]["cli"]
    assert stored["out"] == str(here / "run") and stored["data"] == str(here / "small.npz")
    monkeypatch.chdir(elsewhere)
    code, _, err = run(capsys, "train", "--resume", "../here/run.checkpoint", *QUICK)
    assert code == 0, err
    assert names(here / "run") == RUN
    assert names(here) == {"run", "small.npz"}  # the automatic checkpoint went, file by file
    assert list(elsewhere.iterdir()) == []


def _make_relative(folder: Path, out: str) -> None:
    """Rewrite a checkpoint as an older deltaprop wrote it: --out stored as given."""
    saved = load_checkpoint(folder)
    saved.state["extra"]["cli"]["out"] = out
    model_io.save(saved.net, saved.path, extra_metadata={"checkpoint": saved.state},
                  slots=saved.slots)


@pytest.mark.parametrize("with_marker", [True, False], ids=["cp -r", "cp *"])
def test_a_checkpoint_copied_into_a_project_folder_resumes_without_touching_it(
        tmp_path, capsys, monkeypatch, with_marker):
    monkeypatch.chdir(tmp_path)
    interrupted(capsys, monkeypatch, "--out", "run")
    _make_relative(tmp_path / "run.checkpoint", "run")  # the worst case: a relative --out
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "notes.txt").write_text("mine")
    (project / "src" / "model.safetensors").write_text("mine too")
    shutil.copy(tmp_path / "run.checkpoint" / "checkpoint.safetensors", project)
    if with_marker:
        shutil.copy(tmp_path / "run.checkpoint" / MARKER, project)
    shutil.rmtree(tmp_path / "run.checkpoint")
    monkeypatch.chdir(project)
    code, _, err = run(capsys, "train", "--resume", ".", *QUICK)
    assert code == 0, err
    assert names(tmp_path / "run") == RUN  # relative to the checkpoint folder's parent
    assert (project / "notes.txt").read_text() == "mine"
    assert (project / "src" / "model.safetensors").read_text() == "mine too"
    kept = {"notes.txt", "src"} | (set() if with_marker else {"checkpoint.safetensors"})
    assert names(project) == kept  # a folder without deltaprop's marker keeps its checkpoint


def test_a_resume_may_write_the_run_elsewhere_with_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    interrupted(capsys, monkeypatch, "--out", "run", "--checkpoint-dir", "ckpt")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "taken.txt").write_text("mine")
    code, out, err = run(capsys, "train", "--resume", "ckpt", *QUICK)
    assert_one_line_error(code, out, err, "--out", "already holds files")
    code, _, err = run(capsys, "train", "--resume", "ckpt", "--out", "moved", *QUICK)
    assert code == 0, err
    assert names(tmp_path / "moved") == RUN and names(tmp_path / "run") == {"taken.txt"}
    assert (tmp_path / "ckpt" / "checkpoint.safetensors").is_file()  # asked for: kept


def test_the_users_folder_where_the_default_checkpoint_would_go_is_refused(tmp_path, capsys):
    (tmp_path / "run.checkpoint").mkdir()
    (tmp_path / "run.checkpoint" / "mine.txt").write_text("mine")
    code, out, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", tmp_path / "run")
    assert_one_line_error(code, out, err, "run.checkpoint", "not deltaprop's", "--checkpoint-dir")
    assert names(tmp_path) == {"run.checkpoint"}
    assert names(tmp_path / "run.checkpoint") == {"mine.txt"}


def test_the_checkpoint_of_another_run_is_never_overwritten(tmp_path, capsys):
    argv = ["train", "--epochs", "1", *QUICK, "--checkpoint-dir", tmp_path / "ckpt"]
    assert run(capsys, *argv, "--out", tmp_path / "one")[0] == 0
    before = (tmp_path / "ckpt" / "checkpoint.safetensors").read_bytes()
    code, out, err = run(capsys, *argv, "--out", tmp_path / "two")
    assert_one_line_error(code, out, err, "--checkpoint-dir", "holds the checkpoint of another run",
                          "--resume")
    assert (tmp_path / "ckpt" / "checkpoint.safetensors").read_bytes() == before
    assert not (tmp_path / "two").exists()


def test_a_checkpoint_folder_in_use_by_a_live_run_is_refused(tmp_path, capsys):
    fcntl = pytest.importorskip("fcntl")
    folder = tmp_path / "run.checkpoint"
    folder.mkdir()
    (folder / MARKER).write_text("deltaprop checkpoint folder, used by pid 4242\n")
    with open(folder / MARKER) as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        code, out, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", tmp_path / "run")
    assert_one_line_error(code, out, err, "in use by another deltaprop train run (pid 4242)")
    assert names(tmp_path) == {"run.checkpoint"}


def test_out_a_symlink_to_an_empty_folder_is_followed(tmp_path, capsys):
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target", target_is_directory=True)
    code, _, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", tmp_path / "link")
    assert code == 0, err
    assert (tmp_path / "link").is_symlink() and names(tmp_path / "target") == RUN
    assert names(tmp_path) == {"link", "target"}


def test_out_the_current_folder_stays_the_same_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inode = os.stat(".").st_ino
    code, _, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", ".",
                       "--checkpoint-dir", tmp_path.parent / f"{tmp_path.name}-ckpt")
    assert code == 0, err
    assert os.stat(".").st_ino == inode and names(Path(".")) == RUN  # written into it, not replaced


@pytest.mark.parametrize("existing", [False, True], ids=["new --out", "empty --out"])
def test_out_taken_by_another_run_meanwhile_keeps_both_runs(tmp_path, capsys, monkeypatch, existing):
    out = tmp_path / "run"
    if existing:
        out.mkdir()
    real_training = deltaprop.cli.train.run_training

    def another_run_writes_out(*args, **kwargs):
        result = real_training(*args, **kwargs)
        out.mkdir(exist_ok=True)
        (out / "model.safetensors").write_text("the other run's")
        return result

    monkeypatch.setattr(deltaprop.cli.train, "run_training", another_run_writes_out)
    code, stdout, err = run(capsys, "train", "--epochs", "1", *QUICK, "--json", "--out", out)
    assert code == 2 and "Traceback" not in err
    assert "another run wrote it first" in err and f"saved to {out}-2" in err
    assert (out / "model.safetensors").read_text() == "the other run's"
    assert names(tmp_path / "run-2") == RUN
    assert json.loads(stdout)["run_dir"] == str(tmp_path / "run-2")
    assert names(tmp_path) == {"run", "run-2"}  # no temporary folder, no checkpoint left


def _full_disk_on(monkeypatch, module, name):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, name, full)


def test_a_full_disk_while_writing_the_run_keeps_the_checkpoint_to_write_it(
        tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        _full_disk_on(patch, deltaprop.cli.train_output, "write_json")
        code, stdout, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", out)
    assert_one_line_error(code, stdout, err, f"writing the run to {out} failed",
                          "No space left on device (history.json)", "free some space",
                          f"--resume {out}.checkpoint")
    assert names(tmp_path) == {"run.checkpoint"}
    code, _, err = run(capsys, "train", "--resume", f"{out}.checkpoint", *QUICK)
    assert code == 0, err
    assert names(tmp_path) == {"run"} and names(out) == RUN


def test_a_full_disk_while_saving_the_first_checkpoint_leaves_nothing(tmp_path, capsys, monkeypatch):
    _full_disk_on(monkeypatch, checkpoint_module.io, "save")
    code, out, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", tmp_path / "run")
    assert_one_line_error(code, out, err, "saving the checkpoint in", "No space left on device",
                          "free some space", "run again")
    assert list(tmp_path.iterdir()) == []


def test_a_signal_while_the_run_is_written_leaves_nothing_and_says_how_to_write_it(
        tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    real_write = deltaprop.cli.train_output.write_json

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # handled: training's stop flag
        real_write(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(deltaprop.cli.train_output, "write_json", terminated)
        code, _, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", out)
    assert code == 143
    assert err.count("\n") == 1 and "stopped by SIGTERM while writing the run" in err
    assert f"nothing was written to {out}" in err and f"--resume {out}.checkpoint" in err
    assert names(tmp_path) == {"run.checkpoint"}
    assert run(capsys, "train", "--resume", f"{out}.checkpoint", *QUICK)[0] == 0
    assert names(tmp_path) == {"run"}


def test_leftovers_of_killed_runs_go_and_those_of_live_ones_stay(tmp_path, capsys):
    dead_run = tmp_path / f".run.{DEAD}.abcdefgh.tmp"
    live_run = tmp_path / f".run.{os.getppid()}.abcdefgh.tmp"
    user = tmp_path / f".thesis.{DEAD}.abcdefgh.tmp"  # our pattern, but a folder of the user's
    for folder in (dead_run, live_run, user, tmp_path / "run.checkpoint"):
        folder.mkdir()
        (folder / "model.safetensors").write_text("x")
    for name in RUN_FILES:  # killed after writing every file of a run, the report's included
        (dead_run / name).write_text("x")
    (user / "chapter1.tex").write_text("mine")
    (tmp_path / "run.checkpoint" / "model.safetensors").unlink()
    (tmp_path / "run.checkpoint" / MARKER).write_text("")
    (tmp_path / "run.checkpoint" / f".checkpoint.safetensors.{DEAD}.abcdefgh.tmp").write_text("x")
    code, _, err = run(capsys, "train", "--epochs", "1", *QUICK, "--out", tmp_path / "run")
    assert code == 0, err
    assert names(tmp_path) == {"run", live_run.name, user.name}
    assert names(user) == {"chapter1.tex"}


def test_long_messages_are_shortened_in_the_middle(tmp_path, capsys):
    deep = tmp_path / ("d" * 200) / ("e" * 200)
    deep.parent.mkdir()
    deep.write_text("a file")
    code, out, err = run(capsys, "train", "--out", deep)
    assert_one_line_error(code, out, err, "--out", "choose another --out")
    assert len(err.strip()) <= MAX_MESSAGE
    assert shorten_middle("abcdefghij", 5) == "ab…ij" and shorten_middle("abc", 5) == "abc"


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.5, False), (0.9, True)])
def test_the_weight_decay_limit_is_where_the_decay_alone_stops_being_stable(momentum, nesterov):
    config = TrainingConfig(momentum=momentum, nesterov=nesterov)
    limit = decay_limit(config)
    for x, stable in ((0.99 * limit, True), (1.01 * limit, False)):
        if nesterov:
            matrix = [[1 - x * (1 + momentum), momentum ** 2], [-x, momentum]]
        else:
            matrix = [[1 - x, momentum], [-x, momentum]]
        assert (max(abs(np.linalg.eigvals(matrix))) < 1) == stable


def test_regularization_checks_name_the_option_and_the_bound():
    net = Network([64, 30, 10], seed=0)
    check_regularization(TrainingConfig(lmbda=5.0), 1000, net)
    with pytest.raises(ValueError, match=r"--lmbda 4000 is too large for --eta 0.5.*below 4e\+03"):
        check_regularization(TrainingConfig(lmbda=4000.0), 1000, net)
    with pytest.raises(ValueError, match="--lmbda 1e\\+200 is too large: the regularization overflows"):
        check_regularization(TrainingConfig(lmbda=1e200, optimizer="adam"), 1000, net)
    with pytest.raises(ValueError, match="--l1 1e\\+30 .* overflows float32"):
        check_regularization(TrainingConfig(l1=1e30), 1000, Network([4, 2], dtype="float32"))
    hint = diverged_hint(TrainingDivergedError("diverged; try a smaller eta (now 0.5), or a smaller "
                                               "lmbda (now 3)"))
    assert str(hint) == "diverged; try a smaller --eta (now 0.5), or a smaller --lmbda (now 3)"


def test_the_saved_model_is_the_kept_epoch_and_the_summary_says_which(tmp_path, capsys):
    """--keep best (the default): the model, its metadata, history.json and the summary are of the
    epoch of the best validation accuracy; --keep last: of the last."""
    from deltaprop.datasets import load_digits

    data = load_digits()
    code, out, err = run(capsys, "train", "--epochs", "12", "--hidden", "10", "--out", tmp_path / "best",
                         *QUICK)
    assert code == 0, err
    history = json.loads((tmp_path / "best" / "history.json").read_text())
    records, kept = history["records"], history["kept_epoch"]
    accuracy = max(record["validation_accuracy"] for record in records)
    cost = min(record["validation_cost"] for record in records if record["validation_accuracy"] == accuracy)
    record = records[kept - 1]
    assert (record["validation_accuracy"], record["validation_cost"]) == (accuracy, cost)
    assert kept < 12
    net, meta, _ = model_io.load_with_metadata(tmp_path / "best" / "model.safetensors")
    assert net.accuracy(*data.validation) == record["validation_accuracy"] == meta["validation_accuracy"]
    assert net.accuracy(*data.test) == pytest.approx(record["test_accuracy"])
    assert meta["kept_epoch"] == kept and meta["test_accuracy"] == record["test_accuracy"]
    assert f"model saved from epoch {kept} of 12: the best validation accuracy (--keep best)" in out

    code, out, err = run(capsys, "train", "--epochs", "12", "--hidden", "10", "--keep", "last",
                         "--out", tmp_path / "last", *QUICK, "--json")
    assert code == 0, err
    outcome = json.loads(out)
    assert (outcome["kept_epoch"], outcome["keep"]) == (12, "last")
    assert outcome["test_accuracy"] == outcome["history"][-1]["test_accuracy"]
    assert json.loads((tmp_path / "last" / "history.json").read_text())["kept_epoch"] == 12
    code, out, err = run(capsys, "train", "--keep", "first", "--out", tmp_path / "bad")
    assert code == 2 and "--keep: invalid choice: 'first'" in err and "Traceback" not in err
