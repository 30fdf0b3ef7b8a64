"""``deltaprop train``: train a network and write a run directory.

The training options come from the options table (``train_options``); the network options, the data
and the output are this module's. Checkpoints are saved after every epoch (by default next to the
run directory, removed once the run completes); SIGINT or SIGTERM stops after the current
mini-batch with a checkpoint saved, and ``--resume DIR`` finishes the run as if it had not stopped.

Nothing of the user's is ever removed or overwritten: every output location is checked before the
data are loaded (``rundir``, ``checkpoints``), the run directory appears complete or not at all
(``train_session``), and clean-up removes only files deltaprop made, one by one.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._validation import as_classes
from deltaprop.cli import resume
from deltaprop.cli._common import (
    EXIT_OK,
    PROG,
    Parser,
    add_init_option,
    add_network_options,
    console,
    fail,
    hidden_sizes,
    load_data,
    print_json,
    shown,
)
from deltaprop.cli.checkpoints import RunCheckpoint, check_checkpoint_dir
from deltaprop.cli.rundir import RunDirectory, plan_run_directory, real_path
from deltaprop.cli.signals import StopOnSignal
from deltaprop.cli.train_checks import check_regularization, diverged_hint
from deltaprop.cli.train_options import add_training_options, training_options
from deltaprop.cli.train_output import MODEL_FILE, EpochTable, report_training, summary, write_run
from deltaprop.cli.train_session import StoppedWhileWriting, session
from deltaprop.datasets import SPEC_FORMS, Dataset, Split
from deltaprop.diagnostics import learning_speed
from deltaprop.errors import TrainingDivergedError, TrainingInterrupted
from deltaprop.history import History
from deltaprop.network import Network
from deltaprop.options import TrainingConfig
from deltaprop.recording import RecordedHistory, training_recorder
from deltaprop.training import fit

DTYPES = ("float64", "float32")
INITIAL_SPEED_ROWS = 2_000  # training rows the initial network's learning speed is measured on


def add_parser(commands: Any) -> None:
    """The ``train`` subcommand."""
    parser = commands.add_parser(
        "train", help="train a network and save a run directory",
        description="Train a network by mini-batch gradient descent and write a run directory: the "
                    "model, its history, its config and plots.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``train``, in groups: data, network, training, output, checkpoints."""
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="digits", help=f"the data set: {SPEC_FORMS} (default: digits)")
    data.add_argument("--data-dir", default=None,
                      help="folder holding (or to receive) MNIST (default: $DELTAPROP_DATA/mnist, else "
                           "~/.cache/deltaprop/mnist)")
    net = parser.add_argument_group("network")
    net.add_argument("--hidden", type=hidden_sizes, default=[30], metavar="SIZES",
                     help="hidden layer sizes, comma-separated, e.g. 100 or 256,128; 'none' for "
                          "no hidden layer (default: 30)")
    add_network_options(net)
    add_init_option(net)
    net.add_argument("--dtype", choices=DTYPES, default="float64",
                     help="float type of the parameters and the data: float64 or float32 "
                          "(default: float64)")
    add_training_options(parser.add_argument_group("training"))
    out = parser.add_argument_group("output")
    out.add_argument("--out", default=None,
                     help="run directory to create; must not exist or be empty (default: "
                          "runs/<timestamp>)")
    out.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")
    out.add_argument("--quiet", action="store_true", help="no progress bar, no per-epoch table")
    out.add_argument("--json", action="store_true",
                     help="print one JSON object on stdout (progress and table go to stderr)")
    faults = parser.add_argument_group("checkpoints")
    faults.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                        help="save a checkpoint there at the end of every epoch (default: "
                             "<out>.checkpoint, removed once the run completes)")
    faults.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the run whose checkpoint is in DIR, with its original "
                             "options; writes the run directory it would have written (or --out) "
                             "(default: none, a new run)")


def defaults() -> dict[str, Any]:
    """Every option of ``train`` at its default, as parsed from an empty command line."""
    parser = Parser(prog=f"{PROG} train")
    add_arguments(parser)
    return vars(parser.parse_args([]))


def actions() -> dict[str, argparse.Action]:
    """The parser's action of each option of ``train``, by destination name."""
    parser = Parser(prog=f"{PROG} train")
    add_arguments(parser)
    return {action.dest: action for action in parser._actions}


def build_network(args: argparse.Namespace, dataset: Dataset) -> Network:
    """The network to train: input and output sizes from the data, hidden sizes from --hidden."""
    classes = np.unique(dataset.train.y)
    if classes.size < 2:
        label = classes[0] if dataset.classes is None else repr(dataset.classes[int(classes[0])])
        raise ValueError(
            f"--data {args.data}: the training rows hold a single class (label {label}); a "
            f"classifier needs examples of at least two classes")
    return Network(  # --activation: the hidden layers; the output's by default from the cost
        [dataset.n_features, *args.hidden, dataset.n_classes],
        activation=args.activation,
        output_activation=args.output_activation,
        cost=args.cost,
        init=args.init,
        seed=args.seed,
        dtype=args.dtype,
    )


def _pair_or_none(split: Split | None) -> tuple[Any, Any] | None:
    """(X, y) of a split, or None when the split is missing or empty."""
    if split is None or split.X.shape[0] == 0:
        return None
    return split.X, split.y


def fit_options(args: argparse.Namespace, dataset: Dataset) -> dict[str, Any]:
    """The keyword arguments of the ``fit`` call but the checkpoint ones (see ``run_training``)."""
    # Under --json nothing but the final JSON object may reach stdout: bar and rows go to stderr.
    screen = console(stderr=args.json)
    return {
        **training_options(args),
        "validation_data": _pair_or_none(dataset.validation),
        "test_data": _pair_or_none(dataset.test),
        "callbacks": [] if args.quiet else [EpochTable(screen)],
        "progress": False if args.quiet else screen,
    }


def checkpoint_store(args: argparse.Namespace) -> RunCheckpoint:
    """Where the checkpoints go (``args.checkpoint_dir``) and, resuming, where they come from."""
    return RunCheckpoint(args.checkpoint_dir, extra={"cli": resume.stored_options(args)},
                         source=args.resume)


def run_training(args: argparse.Namespace, dataset: Dataset, net: Network, options: dict[str, Any],
                 stop: StopOnSignal) -> tuple[History, float]:
    """Train ``net`` on the training split: the one call of ``fit``. Returns (history, seconds).

    Checkpoints go to ``args.checkpoint_dir`` at the end of every epoch; Ctrl-C or SIGTERM (``stop``)
    stops after the current mini-batch with a checkpoint saved.
    """
    started = time.perf_counter()
    # the report's histograms of w, z and δ (snapshots.npz), on 200 fixed training rows
    recorder = training_recorder(net, dataset.train.X, dataset.train.y, args.epochs,
                                 dataset.image_shape, resumed=args.resume is not None)
    options = {**options, "callbacks": [*options["callbacks"], recorder]}
    try:
        history = fit(net, dataset.train.X, dataset.train.y, **options,
                      should_stop=stop.requested, checkpoint=checkpoint_store(args),
                      resume=args.resume is not None)
        recorder.finish(history)
        history = RecordedHistory(history.records, history.stop_reason, recorder.snapshots)
    except TrainingInterrupted as stopped:
        stopped.signal_number = stop.signal_number  # type: ignore[attr-defined]
        raise
    except TrainingDivergedError as error:
        raise diverged_hint(error, TrainingConfig(**training_options(args))) from None
    return history, time.perf_counter() - started


def initial_learning_speed(net: Network, split: Split) -> list[float] | None:
    """‖∂C/∂b^l‖ per layer of the initial network's mean gradient on (at most
    :data:`INITIAL_SPEED_ROWS` of) the training rows: epoch 0 of the learning-speed plot, measured
    as the epochs' speeds are but before any step. None when the labels do not fit the network."""
    X, y = split.X[:INITIAL_SPEED_ROWS], split.y[:INITIAL_SPEED_ROWS]
    if X.shape[0] == 0:
        return None
    try:
        nabla_b, _ = net.backprop(X, y)
    except (ValueError, TypeError):
        return None
    return learning_speed(nabla_b)


def checkpoint_place(args: argparse.Namespace, final: Path) -> tuple[Path, str, str]:
    """The checkpoint folder (absolute), how messages name it, and what they advise when it
    cannot be used."""
    if args.resume is not None and args.checkpoint_dir == args.resume:
        return (Path(args.resume), f"--resume {shown(args.resume)}",
                "pass --checkpoint-dir DIR to save this run's checkpoints elsewhere")
    if args.checkpoint_dir is not None:
        return (real_path(args.checkpoint_dir), f"--checkpoint-dir {args.checkpoint_dir}",
                "choose another --checkpoint-dir")
    path = final.with_name(final.name + ".checkpoint")
    return (path, f"the checkpoint folder {shown(path)} (of --out)",
            "move it away, or pass --checkpoint-dir DIR")


def prepare(args: argparse.Namespace) -> tuple[argparse.Namespace, Path, tuple[str, str]]:
    """The run's options (those of the checkpointed run, resuming), its final directory, and how
    messages name the checkpoint folder. Every output location is checked here, before any data is
    loaded, so that a run that trains can also be saved; the training options are checked too."""
    if args.resume is not None:
        args = resume.resumed_arguments(args, defaults(), actions())
    else:
        args.keep_checkpoints = args.checkpoint_dir is not None
        resume.absolute_paths(args)
    TrainingConfig(**training_options(args))  # e.g. --nesterov without --momentum: fail early
    final = plan_run_directory(args.out)
    args.out = str(final)
    folder, label, todo = checkpoint_place(args, final)
    args.checkpoint_dir = str(folder)
    check_checkpoint_dir(folder, label, todo, final=final,
                         source=None if args.resume is None else Path(args.resume))
    return args, final, (label, todo)


def run(args: argparse.Namespace) -> int:
    """``deltaprop train``: returns the exit status (128 + signal when stopped by one)."""
    args, final, place = prepare(args)
    dataset = load_data(args.data, args.data_dir, args.dtype, args.seed)
    net = build_network(args, dataset)
    check_regularization(TrainingConfig(**training_options(args)), dataset.train.X.shape[0], net)
    options = fit_options(args, dataset)
    try:
        with StopOnSignal() as stop, session(args, final, *place) as outputs:
            initial_speed = initial_learning_speed(net, dataset.train)
            history, seconds = run_training(args, dataset, net, options, stop)
            outcome = summary(history, seconds, dataset, net, final, initial_speed)
            if dataset.classes is not None:  # trained on unit indices; the file keeps the labels
                net.classes = as_classes("classes", list(dataset.classes), net.sizes[-1])
            files = outputs.write(lambda folder, before_each: write_run(
                folder, args, dataset, net, history, outcome, before_each), stop)
    except TrainingInterrupted as stopped:
        return report_interruption(stopped)
    except StoppedWhileWriting as stopped:
        print(f"{PROG}: {stopped}", file=sys.stderr)
        return 128 + stopped.signal_number
    return report(args, outcome, files, outputs.run)


def report(args: argparse.Namespace, outcome: dict[str, Any], files: list[str],
           run_dir: RunDirectory) -> int:
    """Print the outcome; exit 0, or 2 when --out was taken by another run meanwhile (this run then
    went to a free sibling, which the outcome names)."""
    saved = run_dir.saved_to or run_dir.final
    outcome["run_dir"] = str(saved)
    outcome["model_path"] = str(saved / MODEL_FILE)
    if args.json:
        print_json(outcome)
    else:
        report_training(outcome, files, saved)
    if run_dir.taken:
        return fail(f"--out {shown(run_dir.final)}: another run wrote it first, while this one "
                    f"trained; this run was saved to {shown(saved)} instead")
    return EXIT_OK


def report_interruption(stopped: TrainingInterrupted) -> int:
    """One line on stderr: where the checkpoint is and how to resume; exit 128 + the signal."""
    number = getattr(stopped, "signal_number", None) or signal.SIGINT
    print(f"{PROG}: {stopped}; resume with: {PROG} train --resume {stopped.checkpoint_dir}",
          file=sys.stderr)
    return 128 + number
