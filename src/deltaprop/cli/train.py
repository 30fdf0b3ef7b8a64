"""``deltaprop train``: train a network and write a run directory.

The arguments become one checked, immutable ``RunPlan`` (``train_plan``) before anything runs: the
data, the network, one ``TrainingConfig``, where the run and its checkpoints go. The run
(``train_run``) trains under its checkpoint folder, saved after every epoch (by default next to the
run directory, removed once the run completes); SIGINT or SIGTERM stops after the current mini-batch
with a checkpoint saved, and ``--resume DIR`` finishes the run as if it had not stopped. The outputs
(``train_output``) are the per-epoch table, the summary and the run directory's files.

Nothing of the user's is ever removed or overwritten: every output location is checked before the
data are loaded, the run directory appears complete or not at all, and clean-up removes only files
deltaprop made, one by one.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from typing import Any

import numpy as np

from deltaprop._output import safe
from deltaprop._signals import StopRequest
from deltaprop._validation import as_classes
from deltaprop.cli._common import EXIT_OK, PROG, console, fail, print_json, shown
from deltaprop.cli.train_output import MODEL_FILE, EpochTable, report_training, run_files, run_summary
from deltaprop.cli.train_plan import (
    RunPlan,
    add_arguments,
    check_regularization,
    make_plan,
)
from deltaprop.cli.train_run import RunCheckpoint, RunDirectory, StopOnSignal, StoppedWhileWriting, session
from deltaprop.datasets import Dataset, Split, scaling_for
from deltaprop.diagnostics import learning_speed
from deltaprop.errors import TrainingDivergedError, TrainingInterrupted
from deltaprop.history import History
from deltaprop.monitoring import check_training_memory
from deltaprop.network import Network
from deltaprop.options import BY_NAME
from deltaprop.recording import RecordedHistory, training_recorder
from deltaprop.scaling import Scaling, fit_scaling
from deltaprop.training import fit

INITIAL_SPEED_ROWS = 2_000  # training rows the initial network's learning speed is measured on


def add_parser(commands: Any) -> None:
    """The ``train`` subcommand."""
    add_arguments(commands.add_parser(
        "train", help="train a network and save a run directory",
        description="Train a network by mini-batch gradient descent and write a run directory: the "
                    "model, its history, its config and plots.",
    ))


def build_network(plan: RunPlan, dataset: Dataset) -> Network:
    """The network to train: input and output sizes from the data, hidden sizes from --hidden."""
    classes = np.unique(dataset.train.y)
    if classes.size < 2:
        label = classes[0] if dataset.classes is None else repr(dataset.classes[int(classes[0])])
        raise ValueError(
            f"--data {plan.data}: the training rows hold a single class (label {label}); a "
            f"classifier needs examples of at least two classes")
    return Network(  # --activation: the hidden layers; the output's by default from the cost
        [dataset.n_features, *plan.hidden, dataset.n_classes],
        activation=plan.activation,
        output_activation=plan.output_activation,
        cost=plan.cost,
        init=plan.init,
        seed=plan.config.seed,
        dtype=plan.dtype,
    )


def input_scaling(plan: RunPlan, dataset: Dataset) -> Scaling | None:
    """The scaling ``--scale`` asks for (``scaling_for``: auto is standard for tables, none for the
    image sets), fitted on the training rows only."""
    return fit_scaling(scaling_for(plan.scale, plan.data), dataset.train.X, plan.dtype)


def _pair_or_none(split: Split) -> tuple[Any, Any] | None:
    """(X, y) of a split, or None when the split is empty."""
    return (split.X, split.y) if split.X.shape[0] else None


def diverged_hint(error: TrainingDivergedError) -> TrainingDivergedError:
    """The library's divergence message in the command line's terms: each option it suggests
    ("a smaller lmbda") named by its flag."""
    def flag(match: re.Match[str]) -> str:
        option = BY_NAME.get(match[1])
        return match[0] if option is None else f"a smaller {option.cli_flag}"

    return TrainingDivergedError(re.sub(r"a smaller (\w+)", flag, str(error)))


def run_training(plan: RunPlan, dataset: Dataset, net: Network, stop: StopRequest) -> tuple[History, float]:
    """Train ``net`` on the training split: the one call of ``fit``. Returns (history, seconds).

    Checkpoints go to the plan's folder at the end of every epoch; Ctrl-C or SIGTERM (``stop``)
    stops after the current mini-batch with a checkpoint saved.
    """
    started = time.perf_counter()
    # Under --json nothing but the final JSON object may reach stdout: bar and rows go to stderr.
    screen = console(stderr=plan.json)
    # the report's histograms of w, z and δ (snapshots.npz), on 200 fixed training rows
    recorder = training_recorder(net, dataset.train.X, dataset.train.y, plan.config.epochs,
                                 dataset.image_shape, resumed=plan.resume is not None)
    store = RunCheckpoint(plan.checkpoint_dir, {"cli": plan.stored()}, source=plan.resume)
    try:
        history = fit(net, dataset.train.X, dataset.train.y, config=plan.config,
                      validation_data=_pair_or_none(dataset.validation),
                      test_data=_pair_or_none(dataset.test),
                      callbacks=[recorder] if plan.quiet else [EpochTable(screen), recorder],
                      progress=False if plan.quiet else screen, should_stop=stop.requested,
                      checkpoint=store, resume=plan.resume is not None)
        recorder.finish(history)
        history = RecordedHistory(history.records, history.stop_reason, recorder.snapshots,
                                  kept_epoch=history.kept_epoch)
    except TrainingDivergedError as error:
        raise diverged_hint(error) from None
    return history, time.perf_counter() - started


def initial_learning_speed(net: Network, split: Split) -> list[float] | None:
    """‖∂C/∂b^l‖ per layer of the initial network's mean gradient on (at most
    :data:`INITIAL_SPEED_ROWS` of) the training rows: epoch 0 of the learning-speed plot, measured
    as the epochs' speeds are but before any step. None when there are no rows or the labels do not
    fit the network."""
    try:
        nabla_b, _ = net.backprop(split.X[:INITIAL_SPEED_ROWS], split.y[:INITIAL_SPEED_ROWS])
    except (ValueError, TypeError):
        return None
    return learning_speed(nabla_b)


def run(args: argparse.Namespace) -> int:
    """``deltaprop train``: returns the exit status (128 + signal when stopped by one)."""
    plan = make_plan(args)
    dataset = plan.load_data()
    net = build_network(plan, dataset)
    net.set_scaling(input_scaling(plan, dataset))
    check_regularization(plan.config, dataset.train.X.shape[0], net)
    try:
        with StopOnSignal().on() as stop, session(plan) as run_dir:
            check_training_memory(net, plan.config, dataset.train.X.shape[0],
                                  len(plan.config.make_optimizer(dataset.train.X.shape[0]).slots),
                                  min(INITIAL_SPEED_ROWS, dataset.train.X.shape[0]))
            initial_speed = initial_learning_speed(net, dataset.train)
            history, seconds = run_training(plan, dataset, net, stop)
            outcome = run_summary(history, seconds, dataset, net, plan.out, initial_speed)
            if dataset.classes is not None:  # trained on unit indices; the file keeps the labels
                net.classes = as_classes("classes", list(dataset.classes), net.sizes[-1])
            files = run_dir.write(run_files(plan, dataset, net, history, outcome), stop, plan.checkpoint_dir)
    except TrainingInterrupted as stopped:  # the checkpoint stays: say how to resume
        print(f"{PROG}: {safe(stopped, None)}; resume with: {PROG} train --resume "
              f"{safe(stopped.checkpoint_dir, None)}",
              file=sys.stderr)
        return 128 + (stop.signal_number or signal.SIGINT)
    except StoppedWhileWriting as stopped:
        print(f"{PROG}: {safe(stopped, None)}", file=sys.stderr)
        return 128 + stopped.signal_number
    return report(plan, outcome, files, run_dir)


def report(plan: RunPlan, outcome: dict[str, Any], files: list[str], run_dir: RunDirectory) -> int:
    """Print the outcome; exit 0, or 2 when --out was taken by another run meanwhile (this run then
    went to a free sibling, which the outcome names)."""
    saved = run_dir.saved_to or run_dir.final
    outcome["run_dir"] = str(saved)
    outcome["model_path"] = str(saved / MODEL_FILE)
    if plan.json:
        print_json(outcome)
    else:
        report_training(outcome, files, saved)
    if run_dir.taken:
        return fail(f"--out {shown(run_dir.final)}: another run wrote it first, while this one "
                    f"trained; this run was saved to {shown(saved)} instead")
    return EXIT_OK
