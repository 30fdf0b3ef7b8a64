"""Running a sweep: workers that draw trials from one study until it holds the trials asked for.

``run(space, n_trials)`` opens (or creates) the study, runs ``jobs`` workers (in this process, or
in as many processes), and writes the outputs. Each worker stops once the study holds ``n_trials``
finished trials: complete, pruned, or failed for a reason of the trial's own (it diverged, its
options do not go together). Trials failed by Ctrl-C or a killed worker do not count, so that
rerunning the same command replaces them; a study that holds its trials gets no more.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from deltaprop._files import write_json
from deltaprop._output import safe
from deltaprop._signals import StopRequest
from deltaprop._validation import check_positive_int
from deltaprop.errors import DeltapropError
from deltaprop.sweep import storage as stores
from deltaprop.sweep.objective import COUNTED_FAILS, Objective, SweepInterrupted, TrialFailed, load_data
from deltaprop.sweep.outputs import write_outputs
from deltaprop.sweep.space import Space, load_space

__all__ = ["WorkerError", "count_finished", "run", "worker"]

MARKER = "sweep.json"


def count_finished(study: Any) -> int:
    """Trials that count towards the sweep's total (see the module's docstring)."""
    states = stores.optuna_module().trial.TrialState
    trials = study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED, states.FAIL))
    return sum(1 for trial in trials
               if trial.state != states.FAIL or trial.user_attrs.get("fail_kind") in COUNTED_FAILS)


class WorkerError(DeltapropError, RuntimeError):
    """A worker process stopped on an error (its message says which worker and what)."""


def _progress_line(space: Space) -> Callable[[Any, Any], None]:
    def show(study: Any, trial: Any) -> None:
        state = trial.state.name.lower()
        value = "" if trial.value is None else f" {space.metric} = {trial.value:.4f}"
        reason = trial.user_attrs.get("fail_reason")
        why = f" ({reason})" if reason and state == "fail" else ""
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in trial.params.items())
        print(safe(f"trial {trial.number}: {state}{value} [{params}]{why}", 300), file=sys.stderr, flush=True)
    return show


def worker(settings: Mapping[str, Any], index: int = 0, dataset: Any = None,
           stop: StopRequest | None = None) -> None:
    """One worker: draw and run trials until the study holds ``settings['n_trials']`` finished
    (``dataset``: the space's data, when already loaded). When ``stop`` is requested, the running
    trial stops after its mini-batch, is recorded as failed, and SweepInterrupted is raised."""
    stop = stop or StopRequest()
    space, n_trials = settings["space"], settings["n_trials"]
    with stores.quiet_optuna() as optuna:
        storage = stores.open_storage(settings["storage"], settings["heartbeat_interval"],
                                      settings["grace_period"])
        seed = settings["seed"]
        sampler = optuna.samplers.TPESampler(seed=None if seed is None else seed + index)
        pruner = stores.pruner_named(settings["pruner"], space.fixed.get("epochs", 30))
        study = stores.open_study(storage, settings["storage"], settings["study"], space.direction,
                                  pruner, sampler)
        if count_finished(study) >= n_trials:
            return
        objective = Objective(space, Path(settings["out"]), settings["study"], dataset,
                              pruned=optuna.TrialPruned, should_stop=stop.requested)

        def enough(study: Any, trial: Any) -> None:
            if stop.requested() or count_finished(study) >= n_trials:
                study.stop()

        callbacks = [enough] + ([_progress_line(space)] if settings["verbose"] else [])
        try:
            study.optimize(objective, catch=(TrialFailed,), callbacks=callbacks)
        except Exception as error:
            failure = stores.storage_failure(error, settings["storage"])  # the database went away, ...
            if failure is not None:
                raise failure from None
            raise
        finally:
            if settings["heartbeat_interval"] is not None and not isinstance(
                    storage, optuna.storages.JournalStorage):
                with contextlib.suppress(Exception):
                    optuna.storages.fail_stale_trials(study)
        if stop.requested():
            raise SweepInterrupted


def _child(settings: Mapping[str, Any], index: int, errors: Any) -> None:
    """A worker process: errors come back as one line through ``errors``, never a traceback."""
    try:
        with StopRequest().on(signal.SIGTERM) as stop:  # SIGINT stays ignored: the parent forwards
            worker(settings, index, stop=stop)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        message = stores.scrub(" ".join(str(error).split()), settings["storage"])
        errors.put(f"worker {index}: {message or type(error).__name__}")
        sys.exit(1)


def _run_processes(settings: Mapping[str, Any], jobs: int) -> None:
    """``jobs`` worker processes. They start with SIGINT ignored (a Ctrl-C reaches the whole
    process group): this process turns a Ctrl-C into one SIGTERM each, which they take as one."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    processes = [context.Process(target=_child, args=(settings, i, errors), daemon=False)
                 for i in range(jobs)]
    main = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        for process in processes:
            process.start()
    finally:
        if main:
            signal.signal(signal.SIGINT, handler)
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:  # each records its running trial as failed, then exits
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():  # stuck: its trial stays RUNNING until the heartbeat fails it
                process.kill()
                process.join()
        raise
    if any(process.exitcode == 130 for process in processes):
        raise KeyboardInterrupt
    message = None
    with contextlib.suppress(Exception):
        message = errors.get(timeout=1)
    if message:
        raise WorkerError(message)
    failed = [i for i, process in enumerate(processes) if process.exitcode]
    if failed:
        raise WorkerError(f"worker {failed[0]} stopped with exit status {processes[failed[0]].exitcode}")


def open_in(out: Path, url: str, study_name: str, direction: str) -> Any:
    """The study, with the output folder created (or checked to be a sweep's: never mix with
    files deltaprop did not write); a folder made here is removed again when the study cannot
    be opened."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {out}: is a file; choose a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"out {out}: holds files that are not a sweep's; choose another folder")
    created = [folder for folder in (out, *out.absolute().parents) if not folder.exists()]
    out.mkdir(parents=True, exist_ok=True)
    try:
        with stores.quiet_optuna():
            study = stores.open_study(stores.open_storage(url, None), url, study_name, direction)
    except BaseException:
        with contextlib.suppress(OSError):
            if created and url == stores.default_storage(out):  # the file this call made
                (out / "study.db").unlink(missing_ok=True)
            for folder in created:  # deepest first; each empty, or rmdir fails and stops here
                folder.rmdir()
        raise
    if not (out / MARKER).is_file():
        write_json(out / MARKER, {"study": study_name, "storage": stores.masked(url)})
    return study


def run(space: str | os.PathLike[str] | Mapping[str, Any] | Space, n_trials: int,
        storage: str | None = None, *, study_name: str | None = None,
        out: str | os.PathLike[str] | None = None, jobs: int = 1, pruner: Any = "median",
        seed: int | None = None, heartbeat_interval: int | None = stores.DEFAULT_HEARTBEAT,
        grace_period: int | None = None, verbose: bool = False, outputs: bool = True) -> Any:
    """Run a sweep; returns the optuna Study.

    Args:
        space: a space file's path, the dict of its tables, or a ``Space`` (``load_space``).
        n_trials: finished trials the study should hold when the sweep ends (see the module).
        storage: an optuna storage URL or ``journal:PATH``; default: ``sqlite:///<out>/study.db``.
        study_name: default: the space file's name without .toml ("sweep" for a dict).
        out: the output folder; default ``sweeps/<study_name>``.
        jobs: worker processes on this machine (1: in this process).
        pruner: "median", "none", "hyperband" or an optuna pruner.
        seed: seed of the TPE sampler (worker i uses seed + i); None: fresh.
        heartbeat_interval, grace_period: seconds; a database trial without a heartbeat for
            grace_period is marked failed (default grace: max(60, 3 x interval)).
        verbose: one line per finished trial on stderr.
        outputs: write trials.csv, best/, the plots (``deltaprop.sweep.outputs``).
    """
    space = load_space(space)
    n_trials = check_positive_int("n_trials", n_trials)
    jobs = check_positive_int("jobs", jobs)
    study_name = study_name or space.name
    if not isinstance(study_name, str) or not study_name.strip():
        raise ValueError(f"study_name must be a non-empty string, got {study_name!r}")
    if study_name in (".", "..") or any(mark in study_name for mark in "/\\") or not study_name.isprintable():
        raise ValueError(f"study {study_name[:100]!r}: a study's name is a folder's name in the output "
                         f"folder (sweeps/<study>); use no '/' or '\\', not '.' or '..'")
    out_dir = Path(out) if out is not None else Path("sweeps") / study_name
    url = storage or stores.default_storage(out_dir)
    stores.check_url(url)
    stores.pruner_named(pruner, 1)  # a bad name fails before anything is written
    dataset = load_data(space)  # checked before anything is written
    try:
        study = open_in(out_dir, url, study_name, space.direction)
        finished = count_finished(study)
    except Exception as error:
        failure = stores.storage_failure(error, url)
        if failure is not None:
            raise failure from None
        raise
    settings = {"space": space, "n_trials": n_trials, "storage": url, "study": study_name,  # picklable
                "out": str(out_dir.absolute()), "pruner": pruner, "seed": seed, "verbose": verbose,
                "heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
    if finished < n_trials:
        if jobs == 1:
            with StopRequest().on() as stop:
                worker(settings, 0, dataset, stop)
        else:
            _run_processes(settings, jobs)
    if outputs:
        write_outputs(study, space, out_dir)
    return study
