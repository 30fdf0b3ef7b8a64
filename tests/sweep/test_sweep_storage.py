"""Studies in real storages: SQLite (the default), Optuna's journal file, and PostgreSQL."""

from __future__ import annotations

import csv
import json
import os

import optuna
import pytest

import deltaprop.sweep
from deltaprop import io
from deltaprop.sweep import count_finished


def _trials(study):
    return study.get_trials(deepcopy=False)


def _assert_sound(study, n, extra=0):
    """n finished trials (at most ``extra`` more through a race), unique numbers, none running."""
    trials = _trials(study)
    numbers = [t.number for t in trials]
    assert n <= count_finished(study) <= n + extra
    assert len(numbers) == len(set(numbers))
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]


def test_sqlite_sweep_writes_its_outputs_and_reruns_add_nothing(tmp_path, tiny):
    out = tmp_path / "out"
    study = deltaprop.sweep.run(tiny, 5, out=out, seed=0)
    _assert_sound(study, 5)
    assert (out / "study.db").is_file()
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [int(r["number"]) for r in rows] == list(range(5))
    assert set(rows[0]) >= {"state", "value", "seconds", "epochs", "eta", "lmbda", "fail_reason"}
    complete = [r for r in rows if r["state"] == "complete"]
    assert complete and all(r["epochs"] == "2" for r in complete)
    for row in complete:
        assert {"model.safetensors", "history.json", "config.json"} <= {
            p.name for p in (out / "trials").joinpath(row["run_dir"].rsplit("/", 1)[-1]).iterdir()}
    best, meta, _ = io.load_with_metadata(out / "best" / "model.safetensors")
    assert list(best.sizes) == [64, 10, 10] and meta["data_spec"] == "digits"
    assert meta["sweep_value"] == pytest.approx(study.best_value)
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["trial"]["number"] == study.best_trial.number
    assert config["training"]["eta"] == pytest.approx(study.best_params["eta"])
    assert (out / "optimization_history.png").stat().st_size > 1000

    again = deltaprop.sweep.run(tiny, 5, out=out)  # the study holds its 5: nothing more
    assert len(_trials(again)) == 5
    more = deltaprop.sweep.run(tiny, 7, out=out)  # asking for more continues the study
    _assert_sound(more, 7)
    assert len(list(csv.DictReader((out / "trials.csv").open()))) == 7


def test_a_folder_with_other_files_is_refused(tmp_path, tiny):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a sweep's"):
        deltaprop.sweep.run(tiny, 1, out=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_journal_storage_with_two_processes(tmp_path, tiny):
    storage = f"journal:{tmp_path / 'sweep.log'}"
    study = deltaprop.sweep.run(tiny, 6, storage, out=tmp_path / "out", jobs=2, study_name="j")
    _assert_sound(study, 6, extra=1)
    again = optuna.load_study(study_name="j", storage=deltaprop.sweep.storage.open_storage(storage))
    assert len(_trials(again)) == len(_trials(study))
    assert (tmp_path / "out" / "best" / "model.safetensors").is_file()


def test_postgresql_two_workers_share_one_study(tmp_path, tiny, postgresql_url):
    out = tmp_path / "out"
    study = deltaprop.sweep.run(tiny, 6, postgresql_url, out=out, jobs=2, study_name="pg")
    _assert_sound(study, 6, extra=1)
    assert {t.user_attrs.get("host") for t in _trials(study) if t.state.name == "COMPLETE"}
    best = io.load(out / "best" / "model.safetensors")
    assert list(best.sizes) == [64, 10, 10]
    summary = deltaprop.sweep.outputs.summary(study, deltaprop.sweep.load_space(tiny), postgresql_url)
    assert summary["n_complete"] + summary["n_pruned"] + summary["n_failed"] == len(_trials(study))
    # a second machine would run the same command: it finds the study complete and adds nothing
    again = deltaprop.sweep.run(tiny, 6, postgresql_url, out=tmp_path / "other", study_name="pg")
    assert len(_trials(again)) == len(_trials(study))


def test_a_killed_workers_half_written_trial_goes_and_trials_get_the_usual_mode(tmp_path, tiny):
    out = tmp_path / "out"
    trials = out / "trials"
    trials.mkdir(parents=True)
    dead = trials / ".trial-0000.999999999.abcdefgh.tmp"  # deltaprop's temporary, its writer gone
    dead.mkdir()
    (dead / "model.safetensors").write_text("half")
    mine = trials / "notes.txt"
    mine.write_text("mine")
    (out / "sweep.json").write_text(json.dumps({"study": "tiny"}))  # a sweep's folder
    deltaprop.sweep.run(tiny, 1, out=out, seed=0, outputs=False)
    assert not dead.exists() and mine.read_text() == "mine"
    run_dir = next(p for p in trials.iterdir() if p.name.startswith("trial-"))
    umask = os.umask(0)
    os.umask(umask)
    assert run_dir.stat().st_mode & 0o777 == 0o777 & ~umask
