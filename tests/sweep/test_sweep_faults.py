"""Faults: pruning, a diverging trial, a worker killed mid-trial, Ctrl-C."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from conftest import slow_space

import deltaprop.sweep
from deltaprop.sweep import count_finished

ROOT = Path(__file__).resolve().parents[2]
KILLED_WORKER = """
import sys, deltaprop.sweep
space, out = eval(sys.argv[1]), sys.argv[2]
deltaprop.sweep.run(space, 3, out=out, study_name="s", heartbeat_interval=1, grace_period=2)
"""


def _states(study):
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def _wait_for_running(url: str, study_name: str, process: subprocess.Popen, limit: float = 60,
                      count: int = 1):
    """Wait until the SQLite study has a RUNNING trial that has trained a while (reading the file
    with sqlite3, so as not to race the worker creating its tables)."""
    path = url.removeprefix("sqlite:///")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        with contextlib.suppress(sqlite3.Error), contextlib.closing(
                sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            if db.execute("SELECT count(*) FROM trials WHERE state = 'RUNNING'").fetchone()[0] >= count:
                time.sleep(0.5)
                return
        time.sleep(0.2)
    raise AssertionError("no trial started")


def test_the_median_pruner_prunes_an_eta_that_cannot_learn(tmp_path):
    space = {"fixed": {"epochs": 4, "hidden": [10]},
             "search": {"eta": {"choices": [1e-5, 3.0]}}}
    study = deltaprop.sweep.run(space, 10, out=tmp_path, seed=3, outputs=False)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned and all(t.params["eta"] == 1e-5 for t in pruned)
    assert all(t.user_attrs["epochs"] < 4 for t in pruned)  # stopped before the last epoch
    assert study.best_params == {"eta": 3.0}


def test_a_diverging_trial_fails_with_its_reason_and_the_sweep_goes_on(tmp_path, capsys):
    space = {"fixed": {"epochs": 2, "hidden": [10], "activation": "relu",
                       "output_activation": "linear", "cost": "quadratic"},
             "search": {"eta": {"choices": [1000.0, 0.05]}}}
    study = deltaprop.sweep.run(space, 6, out=tmp_path, seed=0, pruner="none", verbose=True)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert failed and all(t.params["eta"] == 1000.0 for t in failed)
    assert all("diverged" in t.user_attrs["fail_reason"] for t in failed)
    assert "COMPLETE" in _states(study) and count_finished(study) == 6  # failures count: no rerun
    rows = list(csv.DictReader((tmp_path / "trials.csv").open()))
    assert all("diverged" in r["fail_reason"] for r in rows if r["state"] == "fail")
    err = capsys.readouterr().err
    assert "Traceback" not in err and "diverged" in err


def test_a_killed_worker_s_trial_is_failed_and_a_rerun_completes_the_study(tmp_path):
    out = tmp_path / "out"
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, repr(slow_space()), str(out)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"sqlite:///{out.absolute() / 'study.db'}"
    try:
        _wait_for_running(url, "s", worker)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    time.sleep(2.5)  # the grace period: the killed trial's heartbeat is now stale
    study = deltaprop.sweep.run(slow_space(epochs=2), 3, out=out, study_name="s",
                                heartbeat_interval=1, grace_period=2)
    states = _states(study)
    assert states[0] == "FAIL" and "RUNNING" not in states
    assert count_finished(study) == 3 and len(states) == 4  # the killed trial does not count
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert "heartbeat" in rows[0]["fail_reason"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_records_the_running_trials_as_failed(tmp_path, jobs):
    space = tmp_path / "slow.toml"
    space.write_text("[fixed]\nepochs = 400\nhidden = [10]\n[search]\neta = { low = 0.1, high = 1 }\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "deltaprop", "sweep", str(space), "--trials", "3",
               "--out", str(out), "--jobs", str(jobs)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    _wait_for_running(f"sqlite:///{out.absolute() / 'study.db'}", "slow", process, count=jobs)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole process group
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "rerun the same command" in stderr
    study = optuna.load_study(study_name="slow", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == jobs
    for trial in study.trials:
        assert trial.state.name == "FAIL" and trial.user_attrs["fail_kind"] == "interrupted"
    assert count_finished(study) == 0  # an interrupted trial does not count: a rerun replaces it
    assert not (out / "trials").exists()
    assert json.loads((out / "sweep.json").read_text())["study"] == "slow"


def test_early_stopping_and_the_eta_schedule_work_inside_trials(tmp_path):
    space = {"fixed": {"epochs": 20, "hidden": [10], "early_stopping": 2, "schedule": 1},
             "search": {"eta": {"low": 0.5, "high": 3.0}}}
    study = deltaprop.sweep.run(space, 2, out=tmp_path, seed=0, pruner="none", outputs=False)
    for trial in study.trials:
        assert trial.state.name == "COMPLETE"
        assert trial.user_attrs["epochs"] < 20 and trial.user_attrs["stop_reason"] != "completed"
        history = json.loads((Path(trial.user_attrs["run_dir"]) / "history.json").read_text())
        etas = [record["eta"] for record in history["records"]]
        assert etas[-1] < etas[0]  # the schedule halved it
