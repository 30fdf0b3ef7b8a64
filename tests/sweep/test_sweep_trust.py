"""Trust: a password in the storage URL, in any form, is in no output and no file; warnings of
worker processes reach the terminal as the command line's one line; a trial whose run directory
cannot be saved is failed with its reason and the sweep goes on; SIGTERM while the outputs are
written leaves one line and no temporary file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

import deltaprop.sweep
from deltaprop.errors import UnscaledInputWarning
from deltaprop.sweep import objective
from deltaprop.sweep.runner import _portable
from tests.hostile.harness import ENV, SWEEP_SPACE, files_holding, run, write_space

#: A password holding '/' and '@', in each form a storage URL can carry it ({user}, {rest}: the
#: throwaway server's user and host:port/database); none of "s3cr" may show anywhere.
PASSWORD_FORMS = {
    "slash": "postgresql://{user}:s3cr/etX@{rest}",
    "percent-encoded": "postgresql://{user}:s3cr%2Fet%40X@{rest}",
    "query": "postgresql://{user}@{rest}?password=s3cr/etX",
    "query-percent-encoded": "postgresql://{user}@{rest}?sslmode=disable&password=s3cr%2Fet%40X",
}


def _url(postgresql_url: str, form: str, database: str = "postgres") -> str:
    user, _, rest = postgresql_url.removeprefix("postgresql://").partition("@")
    return PASSWORD_FORMS[form].format(user=user, rest=rest.rsplit("/", 1)[0] + "/" + database)


@pytest.mark.parametrize("form", sorted(PASSWORD_FORMS))
def test_a_password_in_the_storage_url_is_in_no_output_and_no_file(tmp_path, postgresql_url, form,
                                                                  space_toml):
    """The throwaway server trusts every client: it ignores the password, deltaprop must hide it in
    stdout (--json), stderr (trial lines, worker messages), sweep.json, trials.csv, every file."""
    outcome = run(["sweep", space_toml, "--trials", "2", "--jobs", "2", "--storage",
                   _url(postgresql_url, form), "--study", f"secret-{form}", "--out", "out", "--json",
                   "--seed", "0"], tmp_path)
    assert outcome.status == 0, outcome.err
    assert "s3cr" not in outcome.out + outcome.err and "Traceback" not in outcome.err
    shown = json.loads(outcome.out)["storage"]
    assert "***" in shown and "127.0.0.1" in shown
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["storage"] == shown
    assert (tmp_path / "out" / "trials.csv").is_file()
    assert files_holding(tmp_path, "s3cr") == []


@pytest.mark.parametrize("form", sorted(PASSWORD_FORMS))
def test_a_password_in_a_storage_url_the_server_refuses_is_never_shown(tmp_path, postgresql_url, form,
                                                                       space_toml):
    """The server answers (no such database): its error passes through the masking too."""
    outcome = run(["sweep", space_toml, "--trials", "1", "--storage",
                   _url(postgresql_url, form, "no_such_db"), "--out", "out", "--json"], tmp_path)
    outcome.check(2, secrets=("s3cr",))
    assert "no_such_db" in outcome.err and "***" in outcome.err
    assert files_holding(tmp_path, "s3cr") == [] and not (tmp_path / "out").exists()


def _unscaled_space(folder: Path) -> Path:
    """A space on an .npz of features up to 1,000, left unscaled (``scale = "none"``): every
    trial's fit warns (UnscaledInputWarning)."""
    rng = np.random.default_rng(0)
    X = rng.random((300, 8)) * 1000
    np.savez(folder / "big.npz", X=X, y=(X[:, 0] > 500).astype(np.int64))
    return write_space(folder, SWEEP_SPACE.replace(
        "subset = 100", f"spec = {str(folder / 'big.npz')!r}\nscale = \"none\""))


def test_warnings_of_worker_processes_are_one_line_of_the_command_line(tmp_path):
    outcome = run(["sweep", _unscaled_space(tmp_path), "--trials", "4", "--jobs", "2", "--out", "out",
                   "--seed", "0"], tmp_path)
    assert outcome.status == 0, outcome.err
    lines = outcome.err.splitlines()
    warned = [line for line in lines if line.startswith("deltaprop: warning: ")]
    assert len(warned) == 1 and "scale the data's columns to [0, 1]" in warned[0], outcome.err
    assert all(line.startswith(("trial ", "deltaprop: warning: ")) for line in lines), outcome.err
    assert "Warning" not in outcome.err and "warn_unscaled" not in outcome.err


def test_warnings_of_worker_processes_reach_the_caller_of_the_library(tmp_path):
    with pytest.warns(UnscaledInputWarning, match="far beyond") as caught:
        deltaprop.sweep.run(_unscaled_space(tmp_path), 2, out=tmp_path / "out", jobs=2, outputs=False)
    assert all(warning.category is UnscaledInputWarning for warning in caught)
    assert caught[0].message.high > 900  # the warning itself, its attributes kept


def test_a_worker_warning_quoting_the_storage_password_arrives_without_it():
    url = "postgresql://me:s3cr%2Fet@db/x"
    arrived = _portable(RuntimeWarning(f"cannot reach {url} as me:s3cr/et"), url)
    assert isinstance(arrived, RuntimeWarning) and "s3cr" not in str(arrived) and "db/x" in str(arrived)


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
import contextlib, os, signal, sys, time
from pathlib import Path
from deltaprop import cli, plots
from deltaprop.sweep import outputs

real, target = outputs.atomic_write, sys.argv[1]

@contextlib.contextmanager
def atomic_write(path):
    with real(path) as file:
        yield file
        if Path(path).name == target:  # SIGTERM with the temporary file written, not yet renamed
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)

outputs.atomic_write = plots.atomic_write = atomic_write
sys.exit(cli.main(["sweep", "space.toml", "--trials", "1", "--out", "out", "--seed", "0"]))
"""


def _temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


@pytest.mark.parametrize("written", ["trials.csv", "optimization_history.png", "best/model.safetensors"])
def test_sigterm_while_writing_the_outputs_is_one_line_and_leaves_no_temporary(tmp_path, space_toml,
                                                                              written):
    stopped = subprocess.run([sys.executable, "-c", STOPPED_WHILE_WRITING, Path(written).name],
                             cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 130, stopped.stderr
    lines = stopped.stderr.splitlines()
    assert lines[-1].startswith("deltaprop: sweep interrupted") and len(lines) <= 2, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert not _temporaries(tmp_path) and not (tmp_path / "out" / written).exists()
    stale = tmp_path / "out" / ".trials.csv.4000000.abcdefgh.tmp"  # of a process that is gone
    stale.write_text("half")
    rerun = run(["sweep", space_toml, "--trials", "1", "--out", "out"], tmp_path)
    rerun.check(0)
    assert (tmp_path / "out" / written).is_file() and not _temporaries(tmp_path)
