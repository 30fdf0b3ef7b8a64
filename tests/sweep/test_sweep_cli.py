"""``deltaprop sweep`` on the command line: its outputs, its JSON, its errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from deltaprop import cli
from deltaprop import io as model_io
from deltaprop.sweep.storage import pruner_named

SPACE = """
[data]
spec = "digits"
subset = 600
[fixed]
epochs = 2
hidden = [10]
[search]
eta = { low = 0.1, high = 5.0, log = true }
hidden = { choices = [[10], [20]] }
"""


def _main(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def space_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.toml").write_text(SPACE.replace("hidden = [10]\n", ""))
    return tmp_path / "space.toml"


def test_json_names_the_study_and_its_best_trial(space_file, capsys):
    code, out, err = _main(capsys, "sweep", space_file, "--trials", "3", "--pruner", "none",
                           "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"study", "storage", "best_value", "best_params", "n_complete", "n_pruned",
            "n_failed"} <= set(result)
    assert result["study"] == "space" and result["storage"].startswith("sqlite:///")
    assert result["n_complete"] == 3 and result["best_params"]["hidden"] in ([10], [20])
    assert 0 < result["best_value"] <= 1
    out_dir = space_file.parent / "sweeps" / "space"
    config = json.loads((out_dir / "best" / "config.json").read_text())
    assert config["dataset"]["rows"]["train"] == 600  # the subset
    assert config["options"]["hidden"] == result["best_params"]["hidden"]
    assert err.count("trial ") == 3  # one line per trial on stderr

    code, out, err = _main(capsys, "evaluate", out_dir / "best" / "model.safetensors", "--json")
    assert code == 0, err
    trial = sorted((out_dir / "trials").iterdir())[0]  # a trial's run directory reports in full
    assert (trial / "snapshots.npz").is_file()
    code, out, err = _main(capsys, "report", trial, "--no-data")
    assert code == 0, err
    assert "Histograms not recorded" not in (trial / "report.html").read_text()
    code, out, err = _main(capsys, "sweep", space_file, "--trials", "3")  # complete: adds nothing
    assert code == 0 and "3 complete, 0 pruned, 0 failed" in out and "trial " not in err
    assert "best trials of space" in out and "param_importances.png" not in out


def test_too_few_trials_leave_plots_out_with_a_reason(space_file, capsys):
    code, out, err = _main(capsys, "sweep", space_file, "--trials", "1", "--study", "one",
                           "--out", "o", "--pruner", "hyperband", "--storage", "journal:o.log")
    assert code == 0, err
    assert "parallel_coordinate.png left out: needs 2 complete trials" in out
    assert (space_file.parent / "o" / "optimization_history.png").is_file()


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--out", "taken"], "not a sweep's"),
    (["--storage", "nowhere"], "storage 'nowhere'"),
    (["--storage", "postgresql://me:secret@127.0.0.1:1/db", "--out", "pg"], "me:***@"),
    (["--pruner", "best"], "--pruner"),
    (["--jobs", "0"], "--jobs"),
])
def test_bad_options_fail_in_one_line(space_file, capsys, argv, fragment):
    (space_file.parent / "taken").mkdir()
    (space_file.parent / "taken" / "mine.txt").write_text("mine")
    code, out, err = _main(capsys, "sweep", space_file, "--trials", "2", *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("deltaprop: error: ") and fragment in err and "secret" not in err
    assert sorted(p.name for p in space_file.parent.iterdir()) == ["space.toml", "taken"]


def test_without_optuna_the_error_names_the_extra(space_file, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    code, out, err = _main(capsys, "sweep", space_file, "--trials", "2")
    assert code == 2 and "pip install 'deltaprop[sweep]'" in err


def test_pruners_by_name():
    assert type(pruner_named("median", 3)).__name__ == "MedianPruner"
    assert type(pruner_named("none", 3)).__name__ == "NopPruner"
    with pytest.raises(ValueError, match="pruner 'best'"):
        pruner_named("best", 3)


def test_a_searched_seed_leaves_the_data_split_alone(tmp_path):
    import deltaprop.sweep
    from deltaprop import io

    space = {"fixed": {"epochs": 1, "hidden": [10]}, "search": {"seed": {"choices": [5, 6]}}}
    study = deltaprop.sweep.run(space, 1, out=tmp_path, pruner="none")
    _, meta, _ = io.load_with_metadata(tmp_path / "best" / "model.safetensors")
    assert meta["data_seed"] == 0  # the split the trial trained on, whatever seed it drew
    assert study.best_trial.params["seed"] in (5, 6)


def test_a_trial_is_scored_by_the_epoch_its_model_keeps(tmp_path, capsys, monkeypatch):
    """A trial's value is the metric of the epoch whose parameters its saved model holds
    (``keep="best"``: ``History.kept_epoch``), not of the last epoch; a table is standardized as
    ``deltaprop train`` does it (``data.scale`` auto), and the trial's model keeps the scaling."""
    from sklearn.datasets import load_iris

    monkeypatch.chdir(tmp_path)
    bunch = load_iris()
    np.savetxt(tmp_path / "iris.csv", np.column_stack([bunch.data, bunch.target]), delimiter=",",
               header="a,b,c,d,target", comments="")
    (tmp_path / "space.toml").write_text(
        '[data]\nspec = "iris.csv"\n[fixed]\nepochs = 20\nhidden = [10]\n'
        '[search]\neta = { low = 1.0, high = 2.0 }\n[objective]\nmetric = "validation_cost"\n')
    code, out, err = _main(capsys, "sweep", "space.toml", "--trials", "2", "--pruner", "none",
                           "--seed", "3", "--json")
    assert code == 0, err
    best = tmp_path / "sweeps" / "space" / "best"
    history = json.loads((best / "history.json").read_text())
    kept = next(r for r in history["records"] if r["epoch"] == history["kept_epoch"])
    assert history["kept_epoch"] < len(history["records"])  # the case this is about
    assert kept["validation_cost"] != history["records"][-1]["validation_cost"]
    assert json.loads(out)["best_value"] == pytest.approx(kept["validation_cost"])
    assert model_io.read_metadata(best / "model.safetensors")["scaling"] == "standard"
