"""One trial of a sweep: build the network its options name, train it, report every epoch.

The objective trains with ``deltaprop.fit``; a callback reports each epoch's metric to optuna, which
may prune the trial (``optuna.TrialPruned`` then leaves ``fit`` from the callback, between epochs).
A complete trial's run directory (``trials/trial-NNNN``: model, history, config, as ``deltaprop
train`` writes them) appears whole or not at all. A trial that diverges or whose options do not go
together is recorded as failed, its reason in the user attributes ``fail_reason`` and ``fail_kind``;
the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deltaprop import io
from deltaprop._files import (
    current_umask,
    jsonable,
    make_temporary_folder,
    remove_stale_temporaries,
    remove_tree,
    write_json,
)
from deltaprop._version import __version__
from deltaprop.datasets import Dataset, Split, load_dataset, scaling_for
from deltaprop.errors import TrainingDivergedError, TrainingInterrupted
from deltaprop.history import History
from deltaprop.network import Network
from deltaprop.options import OPTIONS, TrainingConfig
from deltaprop.recording import SNAPSHOT_FILE, Snapshots, training_recorder
from deltaprop.scaling import fit_scaling
from deltaprop.sweep.space import Space
from deltaprop.training import fit

__all__ = ["COUNTED_FAILS", "Objective", "SweepInterrupted", "TrialFailed", "load_data", "trial_dir"]

TRAINING_NAMES = tuple(option.name for option in OPTIONS)
#: Kinds of failure that belong to the trial's options and count as a finished trial; a trial
#: failed by Ctrl-C or a killed worker does not count, and a rerun replaces it.
COUNTED_FAILS = ("diverged", "invalid", "unmeasured", "unsaved")
MODEL_FILE, HISTORY_FILE, CONFIG_FILE = "model.safetensors", "history.json", "config.json"
RUN_FILES = (MODEL_FILE, HISTORY_FILE, CONFIG_FILE, SNAPSHOT_FILE)  # what a trial's run directory holds


class TrialFailed(Exception):
    """A trial failed for a reason of its own (recorded on the trial); the sweep goes on."""


class SweepInterrupted(KeyboardInterrupt):
    """The sweep stopped on SIGINT or SIGTERM; the running trial was recorded as failed.

    A signal sets the flag of a ``deltaprop._signals.StopRequest``, which ``fit`` reads after every
    mini-batch (its ``should_stop``) and the workers read after every trial; the trial then records
    itself as failed ("interrupted") from the worker's own code, never from inside a database call. A
    second signal stops at once."""


def data_seed(space: Space) -> int:
    """The seed the data are split with: the fixed ``seed`` (0 when it is searched or None)."""
    return space.fixed.get("seed", 0) or 0


def load_data(space: Space) -> Dataset:
    """The space's data set, split with ``data_seed``, its training rows cut to ``subset``."""
    data = space.data
    dataset = load_dataset(data["spec"], data_dir=data["data_dir"], dtype=space.fixed["dtype"],
                           seed=data_seed(space))
    if data["subset"] is not None:
        train = Split(dataset.train.X[:data["subset"]], dataset.train.y[:data["subset"]])
        dataset = dataclasses.replace(dataset, train=train)
    split = space.metric.split("_")[0]
    if getattr(dataset, split).X.shape[0] == 0:
        raise ValueError(f"objective.metric: {space.metric} cannot be measured: the "
                         f"{dataset.name} data has no {split} rows")
    return dataset


def _reason(error: BaseException) -> str:
    """One line saying why a write failed (an OSError's file and reason)."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error) or type(error).__name__


def trial_dir(out: Path, number: int) -> Path:
    """The run directory of trial ``number``."""
    return out / "trials" / f"trial-{number:04d}"


def _pair(split: Split) -> tuple[Any, Any] | None:
    return None if split.X.shape[0] == 0 else (split.X, split.y)


class Objective:
    """What optuna calls for each trial of one study (one per worker, data loaded once)."""

    def __init__(self, space: Space, out: Path, study_name: str, dataset: Dataset | None = None,
                 pruned: type[BaseException] = Exception,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.space, self.out, self.study_name = space, out, study_name
        self.dataset = load_data(space) if dataset is None else dataset
        kind = scaling_for(space.data["scale"], space.data["spec"])  # as deltaprop train's --scale
        self.scaling = fit_scaling(kind, self.dataset.train.X, space.fixed["dtype"])
        self.pruned, self.should_stop = pruned, should_stop

    def __call__(self, trial: Any) -> float:
        """Train the trial's network; returns its kept epoch's metric (that of the saved model)."""
        trial.set_user_attr("host", socket.gethostname())
        options = self.space.options(trial)
        started = time.perf_counter()
        try:
            net, training = self.network(options), {k: options[k] for k in TRAINING_NAMES if k in options}
            TrainingConfig(**training)
            if self.should_stop():
                raise TrainingInterrupted("stopped before training", "")
            recorder = training_recorder(net, self.dataset.train.X, self.dataset.train.y,
                                         training.get("epochs", 30), self.dataset.image_shape)
            history = fit(net, self.dataset.train.X, self.dataset.train.y, **training,
                          validation_data=_pair(self.dataset.validation), test_data=_pair(self.dataset.test),
                          callbacks=[functools.partial(self.report, trial), recorder],
                          should_stop=self.should_stop)
            recorder.finish(history)
        except TrainingDivergedError as error:
            self.fail(trial, "diverged", str(error))
        except (ValueError, TypeError) as error:
            self.fail(trial, "invalid", str(error))
        except (TrainingInterrupted, KeyboardInterrupt):
            trial.set_user_attr("fail_kind", "interrupted")
            trial.set_user_attr("fail_reason", "interrupted (Ctrl-C or SIGTERM)")
            raise SweepInterrupted from None
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - started)
        value = (history.kept() or history.records[-1])[self.space.metric]  # the saved model's
        if value is None or not math.isfinite(value):
            self.fail(trial, "unmeasured", f"{self.space.metric} is {value}")
        trial.set_user_attr("epochs", len(history))
        trial.set_user_attr("stop_reason", history.stop_reason)
        try:
            run_dir = self.write(trial.number, net, history, options, value, recorder.snapshots)
        except (ValueError, TypeError, OSError) as error:  # the model format refuses it, a full disk
            self.fail(trial, "unsaved", f"its run directory could not be written: {_reason(error)}")
        trial.set_user_attr("run_dir", str(run_dir))
        return float(value)

    def report(self, trial: Any, record: dict[str, Any]) -> None:
        """The ``fit`` callback of a trial: report one epoch's metric to optuna; raise ``pruned``
        (optuna.TrialPruned) to stop the trial when optuna prunes it."""
        epoch, value = record["epoch"], record.get(self.space.metric)
        if value is None or not math.isfinite(value):
            return
        trial.report(float(value), epoch)
        if trial.should_prune():
            trial.set_user_attr("epochs", epoch)
            raise self.pruned(f"pruned after epoch {epoch}: {self.space.metric} = {value:.4g}")

    def fail(self, trial: Any, kind: str, reason: str) -> None:
        """Record why the trial failed and raise TrialFailed (which the sweep catches)."""
        trial.set_user_attr("fail_kind", kind)
        trial.set_user_attr("fail_reason", " ".join(reason.split())[:500])
        raise TrialFailed(reason)

    def network(self, options: dict[str, Any]) -> Network:
        """The trial's network: input and output sizes from the data, the rest from the options;
        the study's input scaling (fitted once on the training rows) is part of it."""
        net = Network([self.dataset.n_features, *options["hidden"], self.dataset.n_classes],
                      activation=options["activation"], cost=options["cost"], init=options["init"],
                      output_activation=options["output_activation"],  # None: from the cost
                      seed=options.get("seed", 0), dtype=options["dtype"])
        net.set_scaling(self.scaling)
        return net

    def write(self, number: int, net: Network, history: History, options: dict[str, Any],
              value: float, snapshots: Snapshots) -> Path:
        """The trial's run directory, written in a temporary folder (``.NAME.PID.XXXXXXXX.tmp``, as
        every temporary of deltaprop's; those of killed workers are removed here) and renamed when
        whole."""
        final = trial_dir(self.out, number)
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(final.parent, RUN_FILES)
        partial = make_temporary_folder(final.parent, final.name)
        try:
            io.save(net, partial / MODEL_FILE, extra_metadata=self.metadata(value))
            write_json(partial / HISTORY_FILE, history.as_dict())
            write_json(partial / CONFIG_FILE, self.config(net, options, number, value))
            snapshots.save(partial / SNAPSHOT_FILE)  # for deltaprop report
            while final.exists():  # a study restarted in the same folder: keep the old run
                final = final.with_name(final.name + "+")
            os.chmod(partial, 0o777 & ~current_umask())  # mkdtemp makes it 0700
            partial.rename(final)
        except BaseException:
            remove_tree(partial)  # the folder this process made
            raise
        return final.absolute()

    def metadata(self, value: float) -> dict[str, Any]:
        """Saved with the model: what ``deltaprop evaluate`` and ``predict`` need."""
        dataset, data_dir = self.dataset, self.space.data["data_dir"]
        return jsonable({"dataset": dataset.name, "data_spec": self.space.data["spec"],
                         "data_dir": None if data_dir is None else str(Path(data_dir).absolute()),
                          "data_seed": data_seed(self.space), "n_classes": dataset.n_classes,
                          "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
                          "sweep_metric": self.space.metric, "sweep_value": value})

    def config(self, net: Network, options: dict[str, Any], number: int, value: float) -> dict[str, Any]:
        """config.json, laid out as ``deltaprop train``'s, with the trial's study and number."""
        dataset = self.dataset
        return {
            "command": "sweep",
            "options": {"data": self.space.data["spec"], "data_dir": self.space.data["data_dir"],
                        "subset": self.space.data["subset"], **options},
            "dataset": {"name": dataset.name, "n_features": dataset.n_features,
                        "n_classes": dataset.n_classes, "image_shape": dataset.image_shape,
                        "rows": {name: int(getattr(dataset, name).X.shape[0])
                                 for name in ("train", "validation", "test")}},
            "network": {"sizes": list(net.sizes), "activations": net.activation_names,
                        "cost": net.cost_function.name, "init": net.init, "dtype": net.dtype.name,
                        "parameters": net.num_parameters},
            "training": net.training_config,
            "trial": {"study": self.study_name, "number": number, "metric": self.space.metric,
                      "value": value},
            "deltaprop_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
