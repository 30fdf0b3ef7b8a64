"""What a sweep leaves in its folder: trials.csv, best/, the plots; and its summary and table.

- ``trials.csv``: one row per trial of the study: number, state, value, seconds, epochs, the
  searched options, why it failed, its run directory.
- ``best/``: the best complete trial's model.safetensors, config.json and history.json (copied from
  its run directory, when that is on this machine).
- ``optimization_history.png``, ``parallel_coordinate.png``, ``param_importances.png``: optuna's
  matplotlib visualizations; each is left out (and said why) when the study has too few trials.

Every file is written atomically (``deltaprop._files.atomic_write``: a temporary name, renamed
into place).
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from deltaprop._files import atomic_write, jsonable, remove_stale_temporaries
from deltaprop._output import plain, safe
from deltaprop.plots import _write_png
from deltaprop.sweep import storage as stores
from deltaprop.sweep.objective import CONFIG_FILE, HISTORY_FILE, MODEL_FILE
from deltaprop.sweep.space import Space, encode

__all__ = ["BEST_DIR", "PLOTS", "TRIALS_FILE", "summary", "top_table", "write_outputs"]

TRIALS_FILE = "trials.csv"
BEST_DIR = "best"
BEST_FILES = (MODEL_FILE, CONFIG_FILE, HISTORY_FILE)
PLOTS = {kind: f"{kind}.png" for kind in ("optimization_history", "parallel_coordinate", "param_importances")}


def _seconds(trial: Any) -> float | None:
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        return (trial.datetime_complete - trial.datetime_start).total_seconds()
    return trial.user_attrs.get("seconds")


def trial_rows(study: Any, space: Space) -> list[dict[str, Any]]:
    """One dict per trial: the columns of trials.csv."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        reason = trial.user_attrs.get("fail_reason") or trial.system_attrs.get("fail_reason")
        if reason is None and trial.state.name == "FAIL":
            reason = "the worker stopped sending heartbeats (killed?)"
        rows.append({"number": trial.number, "state": trial.state.name.lower(), "value": trial.value,
                     "seconds": _seconds(trial), "epochs": trial.user_attrs.get("epochs"),
                     **{name: encode(trial.params.get(name)) for name in space.search},
                     "fail_reason": reason, "run_dir": trial.user_attrs.get("run_dir")})
    return rows


def write_trials(study: Any, space: Space, out: Path) -> None:
    """trials.csv."""
    text = io.StringIO()
    columns = ["number", "state", "value", "seconds", "epochs", *space.search, "fail_reason", "run_dir"]
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(trial_rows(study, space))
    with atomic_write(out / TRIALS_FILE) as file:
        file.write(text.getvalue().encode("utf-8"))


def write_best(study: Any, out: Path) -> str | None:
    """best/ from the best trial's run directory; returns why it could not be written, or None."""
    best = best_trial(study)
    if best is None:
        return "no complete trial yet"
    source = Path(best.user_attrs.get("run_dir") or "")
    if not source.is_dir() or not (source / MODEL_FILE).is_file():
        host = best.user_attrs.get("host", "another machine")
        return f"the best trial ({best.number}) ran on {host}; its run directory is not here: {source}"
    target = out / BEST_DIR
    target.mkdir(exist_ok=True)
    for name in BEST_FILES:
        if (source / name).is_file():
            with open(source / name, "rb") as original, atomic_write(target / name) as copy:
                shutil.copyfileobj(original, copy)
    return None


def best_trial(study: Any) -> Any:
    """The best complete trial, or None."""
    try:
        return study.best_trial
    except ValueError:  # no complete trial
        return None


def _plot(study: Any, kind: str, path: Path) -> None:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib import pyplot
    from optuna.visualization import matplotlib as plots

    axes = getattr(plots, f"plot_{kind}")(study)
    figure = getattr(axes, "figure", None) or axes.flat[0].figure
    try:
        figure.set_size_inches(9, 6)
        figure.tight_layout()
        _write_png(figure, path)
    finally:
        pyplot.close(figure)


def write_plots(study: Any, out: Path) -> dict[str, str]:
    """The plots; returns {file: why it was left out} for those that could not be drawn."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    skipped = {}
    for kind, name in PLOTS.items():
        need = 2 if kind != "optimization_history" else 1
        if len(complete) < need:
            skipped[name] = f"needs {need} complete trials, the study has {len(complete)}"
            continue
        if kind == "param_importances" and not any(
                len({repr(t.params.get(p)) for t in complete}) > 1 for p in complete[0].params):
            skipped[name] = "no searched option took two values in the complete trials"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _plot(study, kind, out / name)
        except (ValueError, RuntimeError, ZeroDivisionError, ImportError) as error:
            skipped[name] = " ".join(str(error).split())[:200] or type(error).__name__
    return skipped


def summary(study: Any, space: Space, storage: str, out: Path | None = None) -> dict[str, Any]:
    """What ``--json`` prints: study, storage, best value and params, trials by state."""
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    best = best_trial(study)
    return jsonable({
        "study": study.study_name,
        "storage": stores.masked(storage),
        "metric": space.metric,
        "best_value": None if best is None else best.value,
        "best_params": None if best is None else space.decode(best.params),
        "best_trial": None if best is None else best.number,
        "n_complete": states.count("COMPLETE"),
        "n_pruned": states.count("PRUNED"),
        "n_failed": states.count("FAIL"),
        "n_running": states.count("RUNNING"),
        "out": None if out is None else str(out.absolute()),
    })


def write_outputs(study: Any, space: Space, out: Path) -> dict[str, str]:
    """trials.csv, best/ and the plots in ``out``; returns {output: why it was left out}. The
    temporaries of an earlier run stopped while writing them are removed first."""
    remove_stale_temporaries(out)
    if (out / BEST_DIR).is_dir():
        remove_stale_temporaries(out / BEST_DIR)
    write_trials(study, space, out)
    skipped = write_plots(study, out)
    why = write_best(study, out)
    if why is not None:
        skipped[BEST_DIR] = why
    return skipped


def top_table(study: Any, space: Space, rows: int = 10) -> Any:
    """A rich Table of the best ``rows`` complete trials."""
    from rich.table import Table

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    complete.sort(key=lambda t: t.value, reverse=space.direction == "maximize")
    table = Table(title=plain(f"best trials of {safe(study.study_name)} ({safe(space.metric)})", None),
                  title_justify="left")
    for name in ("trial", space.metric, *space.search, "epochs", "seconds"):
        table.add_column(plain(name), justify="right")
    for trial in complete[:rows]:
        params = [plain(_shown(encode(trial.params.get(name)))) for name in space.search]
        seconds = _seconds(trial)
        table.add_row(str(trial.number), f"{trial.value:.4f}", *params,
                      plain(trial.user_attrs.get("epochs", "–")),
                      "–" if seconds is None else f"{seconds:.1f}")
    return table


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
