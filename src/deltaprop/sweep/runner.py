"""Running a sweep: workers that draw trials from one study until it holds the trials asked for.

``run(space, n_trials)`` opens (or creates) the study, runs ``jobs`` workers (in this process, or
in as many processes), and writes the outputs. Each worker stops once the study holds ``n_trials``
finished trials: complete, pruned, or failed for a reason of the trial's own (it diverged, its
options do not go together). Trials failed by Ctrl-C or a killed worker do not count, so that
rerunning the same command replaces them; a study that holds its trials gets no more.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import warnings
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
from deltaprop.sweep.space import Space, check_network_sizes, load_space

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


def _portable(warning: Warning, url: str) -> Warning:
    """``warning`` as it will arrive in the parent process: itself when it survives pickling (its
    class and attributes kept, as deltaprop's ``UnscaledInputWarning``'s range), else, or when it
    quotes a secret of the storage ``url``, its text (scrubbed) in a warning of its kind."""
    text = str(warning)
    if stores.scrub(text, url) == text:
        with contextlib.suppress(Exception):  # another library's warning that does not pickle
            return pickle.loads(pickle.dumps(warning))  # noqa: S301 - bytes made just above
    return (RuntimeWarning if isinstance(warning, RuntimeWarning) else UserWarning)(stores.scrub(text, url))


def _forward_warning(messages: Any, url: str, message: Any, category: Any, filename: str, lineno: int,
                     file: Any = None, line: Any = None) -> None:
    """A worker process's ``warnings.showwarning``: the warning goes to the parent process, which
    shows it as its own (the command line's one line), never on the worker's stderr."""
    warning = message if isinstance(message, Warning) else category(str(message))
    with contextlib.suppress(Exception):
        messages.put(("warning", _portable(warning, url), str(filename), int(lineno)))


def _child(settings: Mapping[str, Any], index: int, messages: Any) -> None:
    """A worker process: its warnings and its error (one line, never a traceback) go to the parent
    through ``messages``."""
    try:
        with warnings.catch_warnings(), StopRequest().on(signal.SIGTERM) as stop:
            warnings.showwarning = functools.partial(_forward_warning, messages, settings["storage"])
            worker(settings, index, stop=stop)  # SIGINT stays ignored: the parent forwards
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        message = stores.scrub(" ".join(str(error).split()), settings["storage"])
        messages.put(("error", f"worker {index}: {message or type(error).__name__}"))
        sys.exit(1)


def _relay(processes: list[Any], messages: Any) -> list[str]:
    """Wait for the worker processes, raising their warnings in this process as they come (where
    the command line turns them into its lines, each once); returns their errors."""
    errors: list[str] = []
    registry: dict[Any, Any] = {}  # the 'default' filter action: each warning once per place
    while any(process.is_alive() for process in processes) or not messages.empty():
        try:
            kind, *item = messages.get(timeout=0.2)
        except queue.Empty:
            continue
        if kind == "warning":
            warning, filename, lineno = item
            warnings.warn_explicit(warning, type(warning), filename, lineno, registry=registry)
        else:
            errors.append(item[0])
    for process in processes:
        process.join()
    return errors


def _run_processes(settings: Mapping[str, Any], jobs: int) -> None:
    """``jobs`` worker processes. They start with SIGINT ignored (a Ctrl-C reaches the whole
    process group): this process turns a Ctrl-C into one SIGTERM each, which they take as one."""
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    processes = [context.Process(target=_child, args=(settings, i, messages), daemon=False)
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
        errors = _relay(processes, messages)
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
    if errors:
        raise WorkerError(errors[0])
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
    check_network_sizes(space, dataset.n_features, dataset.n_classes)  # every trial can be saved
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
