"""Trust: a password in the storage URL is in no output or file; a trial whose run directory cannot be
saved is failed with its reason and the sweep goes on; SIGTERM while the outputs are written leaves
one line and no temporary file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import optuna

import deltaprop.sweep
from deltaprop.sweep import objective
from tests.hostile.harness import ENV, run

ROOT = Path(__file__).resolve().parents[2]
SPACE = """[data]
subset = 100
[fixed]
epochs = 1
hidden = [5]
[search]
eta = { low = 0.1, high = 3.0, log = true }
"""


def test_a_password_in_the_storage_url_is_in_no_output_and_no_file(tmp_path, postgresql_url):
    # the throwaway server trusts every client: it ignores the password, deltaprop must hide it
    user, _, rest = postgresql_url.removeprefix("postgresql://").partition("@")
    url = f"postgresql://{user}:s3cr%2Fet%40X@{rest}?password=s3cretY"
    (tmp_path / "space.toml").write_text(SPACE)
    outcome = run(["sweep", "space.toml", "--trials", "2", "--storage", url, "--study", "secret",
                   "--out", "out", "--json", "--seed", "0"], tmp_path)
    outcome.check(0, secrets=("s3cr",))
    shown = json.loads(outcome.out)["storage"]
    assert shown.count("***") == 2 and "127.0.0.1" in shown
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["storage"] == shown
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "trials.csv" for path in files)
    for path in files:
        assert b"s3cr" not in path.read_bytes(), path


def test_a_trial_that_cannot_be_saved_fails_with_its_reason_and_the_sweep_goes_on(tmp_path, tiny,
                                                                                  monkeypatch):
    real_save, calls = objective.io.save, []

    def save(net, path, **kwargs):
        calls.append(path)
        if len(calls) == 1:
            raise ValueError("the model format refuses this model: 1,001 layers")
        return real_save(net, path, **kwargs)

    monkeypatch.setattr(objective.io, "save", save)
    study = deltaprop.sweep.run(tiny, 2, out=tmp_path / "out", study_name="s", seed=0, pruner="none")
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert trials[0].user_attrs["fail_kind"] == "unsaved"
    assert "1,001 layers" in trials[0].user_attrs["fail_reason"]
    with open(tmp_path / "out" / "trials.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert "1,001 layers" in rows[0]["fail_reason"] and "heartbeat" not in rows[0]["fail_reason"]
    assert [p.name for p in (tmp_path / "out" / "trials").iterdir()] == ["trial-0001"]


STOPPED_WHILE_WRITING = """
import os, signal, sys, time
from deltaprop import cli
from deltaprop._files import atomic_write
from deltaprop.sweep import outputs

def write_trials(study, space, out):
    with atomic_write(out / "trials.csv") as file:
        file.write(b"number")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

outputs.write_trials = write_trials
sys.exit(cli.main(["sweep", "space.toml", "--trials", "1", "--out", "out", "--seed", "0"]))
"""


def _temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


def test_sigterm_while_writing_the_outputs_is_one_line_and_leaves_no_temporary(tmp_path):
    (tmp_path / "space.toml").write_text(SPACE)
    stopped = subprocess.run([sys.executable, "-c", STOPPED_WHILE_WRITING], cwd=tmp_path, env=ENV,
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 130, stopped.stderr
    assert len(stopped.stderr.splitlines()) <= 2 and "interrupted" in stopped.stderr, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert not _temporaries(tmp_path) and not (tmp_path / "out" / "trials.csv").exists()
    stale = tmp_path / "out" / ".trials.csv.4000000.abcdefgh.tmp"  # of a process that is gone
    stale.write_text("half")
    rerun = run(["sweep", "space.toml", "--trials", "1", "--out", "out"], tmp_path)
    rerun.check(0)
    assert (tmp_path / "out" / "trials.csv").is_file() and not _temporaries(tmp_path)
