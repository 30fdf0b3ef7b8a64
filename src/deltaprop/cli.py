"""The ``deltaprop`` command line: train, evaluate, predict, gradcheck, info.

    deltaprop train                       # [64, 30, 10] on the bundled 8x8 digits, a few seconds
    deltaprop train --data mnist --hidden 100 --lmbda 5 --epochs 30
    deltaprop evaluate runs/X/model.safetensors --split test
    deltaprop predict runs/X/model.safetensors digit.png
    deltaprop gradcheck --sizes 64,30,10
    deltaprop info runs/X/model.safetensors

Every user error (a missing or malformed file, a bad option value, an unknown name, a model that
does not fit the data, no network for a download) prints one line, ``deltaprop: error: ...``, on
stderr and exits with status 2; Ctrl-C exits with status 130. Set ``DELTAPROP_DEBUG=1`` to get the
traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._files import current_umask
from deltaprop.errors import DataFormatError, DeltapropError, TrainingInterrupted

PROG = "deltaprop"
EXIT_OK = 0
EXIT_FAILED = 1  # a gradient check failed, or the reader of stdout went away
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
USER_ERRORS = (ValueError, TypeError, OSError, KeyError, DeltapropError)

MODEL_FILE = "model.safetensors"
HISTORY_FILE = "history.json"
CONFIG_FILE = "config.json"
PLOT_FILES = {
    "curves": "curves.png",
    "learning_speed": "learning_speed.png",
    "confusion_matrix": "confusion_matrix.png",
    "weights": "first_layer_weights.png",
}
IMAGE_SHAPES = {784: (28, 28), 64: (8, 8)}  # models without a stored image shape
PREDICT_TABLE_ROWS = 50


class UsageError(Exception):
    """A command line argparse rejects; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the usage and the message; one line is easier to read and to grep.
        command = self.prog.removeprefix(PROG).strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see '{self.prog} --help')")


# -- argument types --------------------------------------------------------------------------------


def _number(text: str, check: Callable[[float], bool], wanted: str, kind: type = float) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
    if not (math.isfinite(value) and check(value)):
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _number(text, lambda v: v >= 1, "an integer >= 1", int)


def _nonnegative_int(text: str) -> int:
    return _number(text, lambda v: v >= 0, "an integer >= 0", int)


def _positive_float(text: str) -> float:
    return _number(text, lambda v: v > 0, "a number > 0")


def _nonnegative_float(text: str) -> float:
    return _number(text, lambda v: v >= 0, "a number >= 0")


def _fraction(text: str) -> float:
    return _number(text, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _size_list(text: str, allow_empty: bool = False) -> list[int]:
    """'100' or '256,128' -> [256, 128]; '' or 'none' -> [] when allowed."""
    if allow_empty and text.strip().lower() in ("", "none"):
        return []
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like '100' or '256,128', got {text!r}"
        )
    return sizes


def _hidden_sizes(text: str) -> list[int]:
    return _size_list(text, allow_empty=True)


def _layer_sizes(text: str) -> list[int]:
    sizes = _size_list(text)
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(
            f"expected at least an input and an output size like '64,30,10', got {text!r}"
        )
    return sizes


def _name_in(kind: str, table: Callable[[], Mapping[str, Any]]) -> Callable[[str], str]:
    """An argparse type: a name of ``table()`` (a registry, imported only when parsing), with
    hyphens read as underscores."""

    def parse(text: str) -> str:
        names = table()
        name = text.strip().replace("-", "_")
        if name not in names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {text!r}; expected one of {', '.join(sorted(names))}"
            )
        return name

    return parse


def _activations() -> Mapping[str, Any]:
    from deltaprop.activations import ACTIVATIONS

    return ACTIVATIONS


def _costs() -> Mapping[str, Any]:
    from deltaprop.costs import COSTS

    return COSTS


def _initializers() -> Mapping[str, Any]:
    from deltaprop.network import INITIALIZERS

    return INITIALIZERS


_activation_name = _name_in("activation", _activations)
_cost_name = _name_in("cost", _costs)
_init_name = _name_in("init", _initializers)


# -- the parser ------------------------------------------------------------------------------------


def _add_network_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--activation", type=_activation_name, default="sigmoid",
                        help="activation of the hidden layers (default: sigmoid)")
    parser.add_argument("--output-activation", type=_activation_name, default=None,
                        help="activation of the output layer (default: softmax with the "
                             "log_likelihood cost, else sigmoid)")
    parser.add_argument("--cost", type=_cost_name, default="cross_entropy",
                        help="quadratic, cross_entropy (or cross-entropy), log_likelihood "
                             "(default: cross_entropy)")


def _add_train_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "train", help="train a network and save a run directory",
        description="Train a network by mini-batch SGD and write a run directory: the model, its "
                    "history, its config and plots.",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="digits",
                      help="digits (bundled 8x8 digits, default), mnist, idx:DIR, a .npz file "
                           "(arrays X and y) or a .csv file (header with a 'label' column)")
    data.add_argument("--data-dir", default=None, help="folder holding (or to receive) MNIST")
    net = parser.add_argument_group("network")
    net.add_argument("--hidden", type=_hidden_sizes, default=[30], metavar="SIZES",
                     help="hidden layer sizes, comma-separated, e.g. 100 or 256,128; 'none' for "
                          "no hidden layer (default: 30)")
    _add_network_options(net)
    net.add_argument("--init", type=_init_name, default="default",
                     help="default, large, xavier or he (default: default)")
    net.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    sgd = parser.add_argument_group("training")
    sgd.add_argument("--epochs", type=_positive_int, default=30)
    sgd.add_argument("--batch-size", type=_positive_int, default=10)
    sgd.add_argument("--eta", type=_positive_float, default=0.5, help="learning rate η")
    sgd.add_argument("--lmbda", type=_nonnegative_float, default=0.0, help="L2 regularization λ")
    sgd.add_argument("--l1", type=_nonnegative_float, default=0.0, help="L1 regularization λ₁")
    sgd.add_argument("--momentum", type=_fraction, default=0.0, help="momentum μ in [0, 1)")
    sgd.add_argument("--dropout", type=_fraction, default=0.0,
                     help="probability of dropping each hidden unit, in [0, 1)")
    sgd.add_argument("--schedule", type=_positive_int, default=None, metavar="PATIENCE",
                     help="halve η after PATIENCE epochs without validation improvement; stop at "
                          "η0/128")
    sgd.add_argument("--early-stop", type=_positive_int, default=None, metavar="PATIENCE",
                     help="stop after PATIENCE epochs without validation improvement")
    sgd.add_argument("--seed", type=_nonnegative_int, default=0,
                     help="seed of the data split, the initial weights and the shuffling")
    out = parser.add_argument_group("output")
    out.add_argument("--out", default=None,
                     help="run directory to create (default: runs/<timestamp>); must not exist "
                          "or be empty")
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
                             "options; writes the run directory it would have written")
    parser.set_defaults(handler=cmd_train)


def _add_evaluate_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate", help="accuracy, cost and confusion matrix of a model on a data split",
        description="Evaluate a saved model on one split of a data set.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("--data", default=None,
                        help="data set spec as for train (default: the one the model was "
                             "trained on, else digits)")
    parser.add_argument("--data-dir", default=None, help="folder holding MNIST")
    parser.add_argument("--split", choices=["test", "validation", "train"], default="test")
    parser.add_argument("--seed", type=_nonnegative_int, default=None,
                        help="seed of the data split (default: the one used in training)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_evaluate)


def _add_predict_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "predict", help="predicted class and probabilities for the rows of a file",
        description="Predict the class of each row of FILE: a .npy array (one row, many rows, or "
                    "images), a .csv table (a header is optional; a 'label' column is ignored), "
                    "or a PNG image. A PNG is turned to grayscale (transparent pixels count as "
                    "white), padded to the model's image aspect, area-resized to the model's "
                    "image shape (28x28 for 784 inputs, 8x8 for 64), inverted when its border is "
                    "light (the training digits are light on black), and stretched to [0, 1].",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("file", help="a .npy, .csv or .png file")
    parser.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                        help="invert a PNG's gray levels: auto (when its border is light), yes, "
                             "no (default: auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_predict)


def _add_gradcheck_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "gradcheck", help="compare backprop with finite differences",
        description="Build a float64 network, compare its backprop gradient with central finite "
                    "differences, and time both: backprop gets every partial derivative from one "
                    "forward and one backward pass. Exits 1 if the largest relative error "
                    "exceeds --tolerance.",
    )
    parser.add_argument("--sizes", type=_layer_sizes, default=[64, 30, 10],
                        help="layer sizes, input first (default: 64,30,10)")
    _add_network_options(parser)
    parser.add_argument("--data", choices=["random", "digits"], default="random",
                        help="random inputs in [0, 1) with random labels, or rows of the digits "
                             "(needs 64 inputs; default: random)")
    parser.add_argument("--rows", type=_positive_int, default=10, help="rows of data (default 10)")
    parser.add_argument("--max-params", type=_positive_int, default=None,
                        help="check a random sample of this many parameters (default: all)")
    parser.add_argument("--eps", type=_positive_float, default=1e-6, help="finite-difference step")
    parser.add_argument("--tolerance", type=_positive_float, default=1e-6,
                        help="largest relative error that passes (default 1e-6)")
    parser.add_argument("--seed", type=_nonnegative_int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_gradcheck)


def _add_info_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "info", help="describe a model file",
        description="Sizes, activations, cost, dtype, parameter count, training config and "
                    "version of a saved model.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_info)


def _add_bench_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "bench", help="time a training epoch against PyTorch, scikit-learn and the book's loop",
        description="The benchmark suite of deltaprop.benchmark; its options follow "
                    "(see 'deltaprop bench --help').",
        add_help=False,
    )
    parser.set_defaults(handler=cmd_bench)


def cmd_bench(arguments: Sequence[str]) -> int:
    """``deltaprop bench ...``: its own options, parsed by ``deltaprop.benchmark.main``."""
    from deltaprop.benchmark import main as benchmark_main

    return benchmark_main(list(arguments))


def build_parser() -> argparse.ArgumentParser:
    import deltaprop

    parser = _Parser(
        prog=PROG,
        description="Feedforward networks trained by backpropagation (Nielsen's chapters 1-3).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {deltaprop.__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for add in (_add_train_parser, _add_evaluate_parser, _add_predict_parser,
                _add_gradcheck_parser, _add_info_parser, _add_bench_parser):
        add(commands)
    return parser


# -- output helpers --------------------------------------------------------------------------------


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays unwrapped, NaN/inf as null, paths as strings."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _print_json(value: Any) -> None:
    print(json.dumps(_jsonable(value), allow_nan=False))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(_jsonable(value), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _confusion_table(matrix: np.ndarray, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("true \\ pred", justify="right", style="bold")
    for j in range(matrix.shape[1]):
        table.add_column(str(j), justify="right")
    table.add_column("recall", justify="right")
    for i, row in enumerate(matrix):
        cells = [f"[bold green]{v}[/]" if i == j else (str(v) if v else "[dim]0[/]")
                 for j, v in enumerate(row)]
        recall = row[i] / row.sum() if row.sum() else None
        table.add_row(str(i), *cells, _percent(recall))
    return table


# -- data and models -------------------------------------------------------------------------------


def _load_data(spec: str, data_dir: str | None, dtype: str, seed: int) -> Any:
    from deltaprop.datasets import load_dataset

    return load_dataset(spec, data_dir=data_dir, dtype=dtype, seed=seed)


def _pair_or_none(split: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(X, y) of a split, or None when the split is missing or empty."""
    if split is None or split.X.shape[0] == 0:
        return None
    return split.X, split.y


def _default_output_activation(cost: str) -> str:
    return "softmax" if cost == "log_likelihood" else "sigmoid"


def _build_network(args: argparse.Namespace, dataset: Any) -> Any:
    """The network to train: input and output sizes from the data, hidden sizes from --hidden."""
    from deltaprop.network import Network

    sizes = [dataset.n_features, *args.hidden, dataset.n_classes]
    return Network(
        sizes,
        activation=args.activation,
        output_activation=args.output_activation or _default_output_activation(args.cost),
        cost=args.cost,
        init=args.init,
        seed=args.seed,
        dtype=args.dtype,
    )


def _check_compatible(net: Any, dataset: Any, model: str) -> None:
    """The model's input size must match the data's features, its outputs cover the classes."""
    if net.sizes[0] != dataset.n_features:
        raise ValueError(
            f"model {model} takes {net.sizes[0]} inputs, but the {dataset.name} data has "
            f"{dataset.n_features} features per row"
        )
    if dataset.n_classes > net.sizes[-1]:
        raise ValueError(
            f"model {model} has {net.sizes[-1]} outputs, but the {dataset.name} data has "
            f"{dataset.n_classes} classes"
        )


def _load_model(path: str) -> tuple[Any, dict[str, Any]]:
    from deltaprop import io

    return io.load(path), io.read_metadata(path)


# -- train -----------------------------------------------------------------------------------------


def _plan_run_directory(out: str | None) -> Path:
    """Where the run goes: ``--out`` (absent or an empty folder), else a new runs/<timestamp>."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path, n = Path("runs") / stamp, 1
        while path.exists():
            path, n = Path("runs") / f"{stamp}-{n}", n + 1
        return path
    path = Path(out).expanduser()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ValueError(f"--out {out} exists and is not a directory")
        if any(path.iterdir()):
            raise ValueError(f"--out {out} exists and is not empty; choose a new directory")
    return path


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the folders created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


@contextlib.contextmanager
def _run_directory(final: Path) -> Iterator[Path]:
    """A hidden temporary sibling of ``final`` to write the run into.

    On success it is renamed to ``final``; on any error or Ctrl-C it is removed, together with the
    parent folders made for it, so no half-written run directory is ever left behind.
    """
    created = _make_parents(final.absolute().parent)
    try:
        workdir = Path(tempfile.mkdtemp(dir=final.absolute().parent, prefix=f".{final.name}.",
                                        suffix=".tmp"))
    except BaseException:
        _remove_folders(created)
        raise
    try:
        yield workdir
        os.chmod(workdir, 0o777 & ~current_umask())  # mkdtemp makes it 0700
        if final.is_dir() and not any(final.iterdir()):
            final.rmdir()  # an empty --out; os.rename cannot replace a folder everywhere
        os.rename(workdir, final)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        _remove_folders(created)
        raise


def _remove_folders(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


class _EpochTable:
    """Prints one row per epoch as training goes, under one header, through ``console``."""

    COLUMNS = (("epoch", 5), ("train cost", 10), ("train acc", 9), ("val acc", 8),
               ("test acc", 8), ("η", 8), ("seconds", 7))

    def __init__(self, console: Any) -> None:
        self.console = console
        self.header = True

    def __call__(self, record: dict[str, Any]) -> None:
        from rich.table import Table

        table = Table(box=None, show_header=self.header, header_style="bold", pad_edge=False)
        for name, width in self.COLUMNS:
            table.add_column(name, justify="right", width=width, no_wrap=True)
        table.add_row(
            str(record["epoch"]),
            f"{record['train_cost']:.4f}",
            _percent(record.get("train_accuracy")),
            _percent(record.get("validation_accuracy")),
            _percent(record.get("test_accuracy")),
            f"{record['eta']:.4g}",
            f"{record['seconds']:.2f}",
        )
        self.console.print(table)
        self.header = False


def _fit_options(args: argparse.Namespace, dataset: Any) -> dict[str, Any]:
    """Every keyword argument of the ``fit`` call, in one place (checkpoints: _run_training)."""
    # Under --json nothing but the final JSON object may reach stdout: bar and rows go to stderr.
    console = _console(stderr=args.json)
    callbacks = [] if args.quiet else [_EpochTable(console)]
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "eta": args.eta,
        "lmbda": args.lmbda,
        "l1": args.l1,
        "momentum": args.momentum,
        "dropout": args.dropout,
        "schedule": args.schedule,
        "early_stopping": args.early_stop,
        "seed": args.seed,
        "validation_data": _pair_or_none(dataset.validation),
        "test_data": _pair_or_none(dataset.test),
        "callbacks": callbacks,
        "progress": False if args.quiet else console,
    }


def _run_training(
    args: argparse.Namespace, dataset: Any, net: Any, options: dict[str, Any], run_dir: Path
) -> tuple[Any, float]:
    """Train ``net`` on the training split: the one call of ``fit``. Returns (history, seconds).

    ``run_dir`` is the (temporary) run directory. Checkpoints go to ``args.checkpoint_dir`` at the end
    of every epoch; Ctrl-C or SIGTERM stops after the current mini-batch with a checkpoint saved.
    """
    from deltaprop.training import fit

    started = time.perf_counter()
    with _StopOnSignal() as stop:
        try:
            history = fit(
                net, dataset.train.X, dataset.train.y, **options,
                checkpoint_dir=args.checkpoint_dir, resume=args.resume, should_stop=stop.requested,
                checkpoint_extra={"cli": _stored_options(args)},
            )
        except TrainingInterrupted as stopped:
            stopped.signal_number = stop.signal_number
            raise
    return history, time.perf_counter() - started


class _StopOnSignal:
    """SIGINT and SIGTERM ask training to stop after its current mini-batch; a second one stops at
    once. ``signal_number`` remembers the first, for the exit code (128 + signal)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal_number: int | None = None

    def requested(self) -> bool:
        return self.signal_number is not None

    def _handle(self, signal_number: int, frame: Any) -> None:
        if self.signal_number is not None:
            print(f"{PROG}: stopped at once; the last checkpoint stays", file=sys.stderr)
            raise SystemExit(128 + signal_number)
        self.signal_number = signal_number

    def __enter__(self) -> _StopOnSignal:
        self.previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def _stored_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of this run that a resume must take again (not how the output is shown)."""
    return {key: value for key, value in vars(args).items() if key not in _PRESENTATION_OPTIONS}


# Options that only change how a run is shown or where its checkpoint goes: a resume may change them.
_PRESENTATION_OPTIONS = {"handler", "command", "quiet", "json", "no_plots", "resume",
                         "checkpoint_dir"}


def _resumed_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """The original options of the run checkpointed in ``args.resume``, with this call's output
    options; any other option given now must agree with the original."""
    from deltaprop.checkpoint import load_checkpoint

    saved = load_checkpoint(args.resume)
    stored = saved.state["extra"].get("cli")
    if not isinstance(stored, dict) or not isinstance(stored.get("out"), str):
        raise ValueError(f"the checkpoint in {args.resume} was not written by '{PROG} train'")
    defaults = vars(build_parser().parse_args(["train"]))
    for key, value in vars(args).items():
        if key in _PRESENTATION_OPTIONS or key not in stored:
            continue
        if value != defaults.get(key) and value != stored[key]:
            flag = "--" + key.replace("_", "-")
            raise ValueError(
                f"{flag} {value} differs from the checkpointed run's {stored[key]!r}; "
                f"a resumed run keeps its original options"
            )
    resumed = argparse.Namespace(**{**defaults, **stored})
    for key in _PRESENTATION_OPTIONS - {"checkpoint_dir"}:
        setattr(resumed, key, getattr(args, key))
    resumed.checkpoint_dir = args.checkpoint_dir or args.resume
    resumed.keep_checkpoints = resumed.keep_checkpoints or args.checkpoint_dir is not None
    return resumed


def _summary_split(dataset: Any) -> tuple[str, Any]:
    """The split the confusion matrix is measured on: test, else validation, else train."""
    for name in ("test", "validation", "train"):
        split = getattr(dataset, name, None)
        if split is not None and split.X.shape[0]:
            return name, split
    raise ValueError(f"the {dataset.name} data has no rows")


def _summary(
    history: Any, seconds: float, dataset: Any, net: Any, run_dir: Path
) -> dict[str, Any]:
    from deltaprop.plots import confusion_matrix

    last = history.records[-1]
    split_name, split = _summary_split(dataset)
    matrix = confusion_matrix(split.y, net.predict(split.X), net.sizes[-1])
    return {
        "test_accuracy": last["test_accuracy"],
        "best_test_accuracy": history.best("test_accuracy"),
        "validation_accuracy": last["validation_accuracy"],
        "best_validation_accuracy": history.best("validation_accuracy"),
        "train_accuracy": last["train_accuracy"],
        "test_cost": last["test_cost"],
        "epochs_run": len(history),
        "stop_reason": history.stop_reason,
        "seconds": seconds,
        "dataset": dataset.name,
        "sizes": list(net.sizes),
        "run_dir": str(run_dir.absolute()),
        "model_path": str((run_dir / MODEL_FILE).absolute()),
        "confusion_split": split_name,
        "confusion_matrix": matrix,
        "history": history.records,
    }


def _run_config(args: argparse.Namespace, dataset: Any, net: Any) -> dict[str, Any]:
    import deltaprop

    options = {key: value for key, value in vars(args).items() if key != "handler"}
    return {
        "command": "train",
        "options": options,
        "dataset": {
            "name": dataset.name,
            "n_features": dataset.n_features,
            "n_classes": dataset.n_classes,
            "image_shape": dataset.image_shape,
            "rows": {name: int(getattr(dataset, name).X.shape[0])
                     for name in ("train", "validation", "test")},
        },
        "network": {
            "sizes": list(net.sizes),
            "activations": net.activation_names,
            "cost": net.cost_function.name,
            "init": net.init,
            "dtype": net.dtype.name,
            "parameters": net.num_parameters,
        },
        "training": net.training_config,
        "deltaprop_version": deltaprop.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _model_metadata(args: argparse.Namespace, dataset: Any, summary: dict[str, Any]) -> dict:
    """Extra metadata saved with the model: enough for evaluate and predict to find their way."""
    return _jsonable({
        "dataset": dataset.name,
        "data_spec": args.data,
        "data_seed": args.seed,
        "n_classes": dataset.n_classes,
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "test_accuracy": summary["test_accuracy"],
        "validation_accuracy": summary["validation_accuracy"],
    })


def _write_plots(folder: Path, dataset: Any, net: Any, history: Any, summary: dict) -> list[str]:
    from deltaprop import plots

    plots.plot_curves(history, folder / PLOT_FILES["curves"])
    plots.plot_learning_speed(history, folder / PLOT_FILES["learning_speed"])
    plots.plot_confusion_matrix(
        summary["confusion_matrix"], folder / PLOT_FILES["confusion_matrix"],
        title=f"Confusion matrix, {dataset.name} {summary['confusion_split']} data",
    )
    written = [PLOT_FILES["curves"], PLOT_FILES["learning_speed"], PLOT_FILES["confusion_matrix"]]
    shape = dataset.image_shape
    if shape is not None and shape[0] * shape[1] == net.sizes[0]:
        plots.plot_first_layer_weights(net, shape, folder / PLOT_FILES["weights"])
        written.append(PLOT_FILES["weights"])
    return written


def _write_run(
    folder: Path, args: argparse.Namespace, dataset: Any, net: Any, history: Any, summary: dict
) -> list[str]:
    """Write the model, history, config and plots into ``folder``; return the file names."""
    from deltaprop import io

    io.save(net, folder / MODEL_FILE, extra_metadata=_model_metadata(args, dataset, summary))
    _write_json(folder / HISTORY_FILE, history.as_dict())
    _write_json(folder / CONFIG_FILE, _run_config(args, dataset, net))
    files = [MODEL_FILE, HISTORY_FILE, CONFIG_FILE]
    if not args.no_plots:
        files += _write_plots(folder, dataset, net, history, summary)
    return files


def _report_training(summary: dict[str, Any], files: list[str], final: Path) -> None:
    console = _console()
    epochs = summary["history"]
    best_epoch = max(
        (r for r in epochs if r["test_accuracy"] is not None),
        key=lambda r: r["test_accuracy"], default=None,
    )
    best = "" if best_epoch is None else (
        f" (best {_percent(summary['best_test_accuracy'])} at epoch {best_epoch['epoch']})"
    )
    console.print(f"test accuracy: [bold]{_percent(summary['test_accuracy'])}[/]{best}")
    if summary["validation_accuracy"] is not None:
        console.print(f"validation accuracy: {_percent(summary['validation_accuracy'])} "
                      f"(best {_percent(summary['best_validation_accuracy'])})")
    if summary["stop_reason"] != "completed":
        console.print(f"stopped after {summary['epochs_run']} epochs: {summary['stop_reason']}")
    console.print(f"trained in {summary['seconds']:.1f} s; run saved to {final}: "
                  f"{', '.join(files)}", soft_wrap=True)


def cmd_train(args: argparse.Namespace) -> int:
    if args.resume is not None:
        args = _resumed_arguments(args)
    else:
        args.keep_checkpoints = args.checkpoint_dir is not None
    final = _plan_run_directory(args.out)
    args.out = str(final)
    if args.checkpoint_dir is None:
        args.checkpoint_dir = str(final.with_name(final.name + ".checkpoint"))
    dataset = _load_data(args.data, args.data_dir, args.dtype, args.seed)
    net = _build_network(args, dataset)
    options = _fit_options(args, dataset)
    try:
        with _run_directory(final) as workdir:
            history, seconds = _run_training(args, dataset, net, options, workdir)
            summary = _summary(history, seconds, dataset, net, final)
            files = _write_run(workdir, args, dataset, net, history, summary)
    except TrainingInterrupted as stopped:
        return _report_interruption(stopped)
    if not args.keep_checkpoints:
        shutil.rmtree(args.checkpoint_dir, ignore_errors=True)
    if args.json:
        _print_json(summary)
    else:
        _report_training(summary, files, final)
    return EXIT_OK


def _report_interruption(stopped: TrainingInterrupted) -> int:
    """One line on stderr: where the checkpoint is and how to resume; exit 128 + the signal."""
    number = getattr(stopped, "signal_number", None) or signal.SIGINT
    print(f"{PROG}: {stopped}; resume with: {PROG} train --resume {stopped.checkpoint_dir}",
          file=sys.stderr)
    return 128 + number


# -- evaluate --------------------------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deltaprop.plots import confusion_matrix

    net, meta = _load_model(args.model)
    spec = args.data or meta.get("data_spec") or "digits"
    seed = args.seed if args.seed is not None else meta.get("data_seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        seed = 0
    dataset = _load_data(spec, args.data_dir, net.dtype.name, seed)
    _check_compatible(net, dataset, args.model)
    split = getattr(dataset, args.split)
    if split.X.shape[0] == 0:
        raise ValueError(f"the {args.split} split of the {dataset.name} data is empty")
    predictions = net.predict(split.X)
    result = {
        "model": args.model,
        "data": spec,
        "split": args.split,
        "rows": int(split.X.shape[0]),
        "accuracy": float(np.mean(predictions == split.y)),
        "cost": net.cost(split.X, split.y),
        "cost_function": net.cost_function.name,
        "confusion_matrix": confusion_matrix(split.y, predictions, net.sizes[-1]),
    }
    if args.json:
        _print_json(result)
        return EXIT_OK
    console = _console()
    console.print(f"{dataset.name} {args.split} data, {result['rows']} rows: accuracy "
                  f"[bold]{_percent(result['accuracy'])}[/], {result['cost_function']} cost "
                  f"{result['cost']:.4f}")
    console.print(_confusion_table(result["confusion_matrix"], "confusion matrix"))
    return EXIT_OK


# -- predict ---------------------------------------------------------------------------------------


def _image_shape_of(net: Any, meta: dict[str, Any]) -> tuple[int, int]:
    """The image shape the model's inputs are: stored at training, else 28x28, 8x8 or square."""
    n = net.sizes[0]
    stored = meta.get("image_shape")
    if (isinstance(stored, list) and len(stored) == 2 and all(isinstance(s, int) for s in stored)
            and stored[0] * stored[1] == n):
        return stored[0], stored[1]
    if n in IMAGE_SHAPES:
        return IMAGE_SHAPES[n]
    side = math.isqrt(n)
    if side * side == n:
        return side, side
    raise ValueError(f"the model takes {n} inputs, which is not an image; give a .npy or .csv file")


def _read_npy(path: Path, n_inputs: int) -> np.ndarray:
    with open(path, "rb") as file:
        magic = file.read(6)
    if magic != b"\x93NUMPY":
        raise DataFormatError(f"{path}: not a .npy file (write one with numpy.save)")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataFormatError(f"{path}: not a readable .npy array: {error}") from None
    if array.ndim >= 2 and math.prod(array.shape[-2:]) == n_inputs and array.shape[-1] != n_inputs:
        array = array.reshape(*array.shape[:-2], n_inputs)  # images (h, w) or (m, h, w)
    if array.ndim == 1 and array.shape[0] == n_inputs:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_inputs or array.shape[0] == 0:
        raise DataFormatError(
            f"{path}: array of shape {array.shape} does not fit the model's {n_inputs} inputs; "
            f"expected ({n_inputs},), (m, {n_inputs}) or images whose pixels number {n_inputs}"
        )
    return array


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv_rows(path: Path, n_inputs: int) -> np.ndarray:
    """Rows of features; a first row with a non-number is a header, and a 'label' column is
    dropped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [(number, row) for number, row in enumerate(csv.reader(handle), start=1) if row]
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataFormatError(f"{path}: not a readable CSV file: {error}") from None
    keep: list[int] | None = None
    if rows and not all(_is_number(cell) for cell in rows[0][1]):
        header = [name.strip().lower() for name in rows[0][1]]
        keep = [i for i, name in enumerate(header) if name != "label"]
        rows = rows[1:]
    if not rows:
        raise DataFormatError(f"{path}: no rows of features")
    values = []
    for number, row in rows:
        cells = row if keep is None or len(row) != len(keep) + 1 else [row[i] for i in keep]
        if len(cells) != n_inputs:
            raise DataFormatError(
                f"{path}, line {number}: {len(cells)} features, but the model takes {n_inputs}"
            )
        try:
            values.append([float(cell) for cell in cells])
        except ValueError:
            bad = next(cell for cell in cells if not _is_number(cell))
            raise DataFormatError(f"{path}, line {number}: {bad[:40]!r} is not a number") from None
    return np.array(values)


def _area_resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample ``image`` to ``shape`` by area averaging (each output pixel is the mean of the
    source area it covers), exact for shrinking and enlarging alike."""

    def weights(n_out: int, n_in: int) -> np.ndarray:
        edges = np.linspace(0, n_in, n_out + 1)
        lo, hi = edges[:-1, None], edges[1:, None]
        cells = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0, None)
        return overlap / overlap.sum(axis=1, keepdims=True)

    return weights(shape[0], image.shape[0]) @ image @ weights(shape[1], image.shape[1]).T


def _grayscale(pixels: np.ndarray) -> np.ndarray:
    """Gray levels in [0, 1] of a decoded image; transparent pixels become white."""
    pixels = np.asarray(pixels, dtype=np.float64)
    if pixels.max(initial=0) > 1:
        pixels = pixels / 255
    if pixels.ndim == 2:
        return pixels
    channels = pixels.shape[2]
    alpha = pixels[..., -1] if channels in (2, 4) else 1.0
    color = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    gray = color @ np.array([0.299, 0.587, 0.114]) if channels >= 3 else color[..., 0]
    return gray * alpha + (1 - alpha)


def _pad_to_aspect(image: np.ndarray, shape: tuple[int, int], fill: float) -> np.ndarray:
    """Pad ``image`` with ``fill`` (centred) to the aspect ratio of ``shape``."""
    h, w = image.shape
    target = shape[0] / shape[1]
    if math.isclose(h / w, target):
        return image
    if h / w > target:
        new_w = round(h / target)
        pad = ((0, 0), ((new_w - w) // 2, new_w - w - (new_w - w) // 2))
    else:
        new_h = round(w * target)
        pad = (((new_h - h) // 2, new_h - h - (new_h - h) // 2), (0, 0))
    return np.pad(image, pad, constant_values=fill)


def _read_png(path: Path, shape: tuple[int, int], invert: str) -> np.ndarray:
    """One input row from a PNG: grayscale, padded and resized to ``shape``, light-on-dark, [0, 1]."""
    from matplotlib import image as mpimage

    try:
        pixels = mpimage.imread(path)
    except Exception as error:  # any failure to decode an untrusted file is a bad file
        raise DataFormatError(f"{path}: not a readable PNG image: {error}") from None
    if pixels.ndim not in (2, 3) or 0 in pixels.shape[:2]:
        raise DataFormatError(f"{path}: unexpected image array of shape {pixels.shape}")
    gray = _grayscale(pixels)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    gray = _area_resize(_pad_to_aspect(gray, shape, background), shape)
    if invert == "yes" or (invert == "auto" and background > 0.5):
        gray = 1.0 - gray
    low, high = gray.min(), gray.max()
    if high > low:
        gray = (gray - low) / (high - low)
    return gray.reshape(1, -1)


def _read_inputs(path: Path, net: Any, meta: dict[str, Any], invert: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    n = net.sizes[0]
    if suffix == ".npy":
        return _read_npy(path, n)
    if suffix == ".csv":
        return _read_csv_rows(path, n)
    if suffix == ".png":
        return _read_png(path, _image_shape_of(net, meta), invert)
    raise ValueError(f"cannot read {path}: expected a .npy, .csv or .png file")


def _probabilities(outputs: np.ndarray, net: Any) -> np.ndarray:
    """Softmax outputs as they are; other outputs normalized to sum to 1 in each row."""
    if net.activations[-1].name == "softmax":
        return outputs
    clipped = np.clip(outputs, 0, None)
    totals = clipped.sum(axis=1, keepdims=True)
    uniform = np.full_like(clipped, 1 / clipped.shape[1])
    return np.where(totals > 0, clipped / np.where(totals > 0, totals, 1), uniform)


def _prediction_table(labels: np.ndarray, probabilities: np.ndarray) -> Any:
    from rich.table import Table

    table = Table()
    table.add_column("row", justify="right")
    table.add_column("label", justify="right", style="bold")
    table.add_column("probability", justify="right")
    table.add_column("runners-up", justify="left", no_wrap=True)
    for i, (label, p) in enumerate(zip(labels[:PREDICT_TABLE_ROWS],
                                       probabilities[:PREDICT_TABLE_ROWS], strict=True)):
        others = [k for k in np.argsort(p)[::-1] if k != label][:3]
        runners_up = "  ".join(f"{k}: {p[k]:.1%}" for k in others)
        table.add_row(str(i), str(label), f"{p[label]:.1%}", runners_up)
    return table


def cmd_predict(args: argparse.Namespace) -> int:
    net, meta = _load_model(args.model)
    X = _read_inputs(Path(args.file), net, meta, args.invert)
    outputs = net.predict_proba(net.check_X(X, str(args.file)))
    labels = np.argmax(outputs, axis=1)
    probabilities = _probabilities(outputs, net)
    if args.json:
        _print_json({
            "model": args.model,
            "file": args.file,
            "labels": labels,
            "predictions": [
                {"label": int(label), "probabilities": p, "outputs": a}
                for label, p, a in zip(labels, probabilities, outputs, strict=True)
            ],
        })
        return EXIT_OK
    console = _console()
    console.print(_prediction_table(labels, probabilities))
    if len(labels) > PREDICT_TABLE_ROWS:
        console.print(f"… {len(labels) - PREDICT_TABLE_ROWS} more rows (use --json for all)")
    if len(labels) == 1:
        console.print(f"predicted label: [bold]{labels[0]}[/]")
    return EXIT_OK


# -- gradcheck -------------------------------------------------------------------------------------


def _gradcheck_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    n_in, n_out = args.sizes[0], args.sizes[-1]
    if args.data == "digits":
        if n_in != 64 or n_out < 10:
            raise ValueError(
                f"--data digits needs 64 inputs and at least 10 outputs, got --sizes "
                f"{','.join(map(str, args.sizes))}"
            )
        train = _load_data("digits", None, "float64", args.seed).train
        return train.X[:args.rows], train.y[:args.rows]
    rng = np.random.default_rng(args.seed)
    return rng.uniform(0.0, 1.0, (args.rows, n_in)), rng.integers(0, n_out, args.rows)


def _gradcheck_tables(result: Any, net: Any) -> tuple[Any, Any]:
    from rich.table import Table

    layers = Table()
    for name in ("layer", "shape", "checked", "weight error", "bias error"):
        layers.add_column(name, justify="right")
    for check, (n_in, n_out) in zip(result.layers, net.layer_shapes(), strict=True):
        layers.add_row(str(check.layer), f"{n_out}x{n_in}", str(check.checked),
                       f"{check.weight_error:.2e}", f"{check.bias_error:.2e}")
    cost = Table()
    cost.add_column("method")
    for name in ("cost evaluations", "seconds"):
        cost.add_column(name, justify="right")
    cost.add_row("backprop", f"{result.backprop_evaluations} (+1 backward pass)",
                 f"{result.backprop_seconds:.6f}")
    cost.add_row("finite differences", str(result.finite_difference_evaluations),
                 f"{result.finite_difference_seconds:.6f}")
    return layers, cost


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from deltaprop.diagnostics import gradcheck
    from deltaprop.network import Network

    net = Network(
        args.sizes, activation=args.activation,
        output_activation=args.output_activation or _default_output_activation(args.cost),
        cost=args.cost, seed=args.seed, dtype="float64",
    )
    X, y = _gradcheck_data(args)
    result = gradcheck(net, X, y, eps=args.eps, max_params=args.max_params, seed=args.seed)
    passed = result.max_error <= args.tolerance
    if args.json:
        _print_json({
            "sizes": list(net.sizes), "activations": net.activation_names,
            "cost": net.cost_function.name, "rows": int(X.shape[0]),
            "layers": [vars(layer) for layer in result.layers],
            "max_error": result.max_error, "tolerance": args.tolerance, "passed": passed,
            "backprop_evaluations": result.backprop_evaluations,
            "finite_difference_evaluations": result.finite_difference_evaluations,
            "backprop_seconds": result.backprop_seconds,
            "finite_difference_seconds": result.finite_difference_seconds,
            "speedup": result.speedup,
        })
    else:
        console = _console()
        console.print(f"network {list(net.sizes)}, {', '.join(net.activation_names)}, "
                      f"{net.cost_function.name} cost, float64, {X.shape[0]} rows of {args.data} "
                      f"data, ε = {args.eps:g}")
        layers, cost = _gradcheck_tables(result, net)
        console.print("max relative error of each layer's gradient, backprop vs central finite "
                      "differences:")
        console.print(layers)
        console.print("cost of computing the gradient:")
        console.print(cost)
        console.print(f"speed-up of backprop: [bold]{result.speedup:,.0f}x[/]")
        verdict = "[bold green]OK[/]" if passed else "[bold red]FAILED[/]"
        console.print(f"max relative error {result.max_error:.2e} "
                      f"(tolerance {args.tolerance:g}): {verdict}")
    return EXIT_OK if passed else EXIT_FAILED


# -- info ------------------------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    from rich.table import Table

    net, meta = _load_model(args.model)
    layers = [{"layer": i + 1, "inputs": n_in, "units": n_out, "activation": act,
               "parameters": n_in * n_out + n_out}
              for i, ((n_in, n_out), act) in enumerate(
                  zip(net.layer_shapes(), net.activation_names, strict=True))]
    info = {**meta, "path": args.model, "file_bytes": os.path.getsize(args.model),
            "parameters": net.num_parameters, "layers": layers}
    if args.json:
        _print_json(info)
        return EXIT_OK
    console = _console()
    summary = Table(show_header=False, box=None, title=args.model, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    rows = [("sizes", " → ".join(map(str, net.sizes))), ("cost", net.cost_function.name),
            ("dtype", net.dtype.name), ("parameters", f"{net.num_parameters:,}"),
            ("format version", str(meta.get("format_version"))),
            ("deltaprop version", str(meta.get("deltaprop_version")))]
    known = {"format_version", "deltaprop_version", "sizes", "activations", "cost", "dtype",
             "training"}
    rows += [(key, json.dumps(value)) for key, value in sorted(meta.items()) if key not in known]
    for key, value in rows:
        summary.add_row(key, value)
    console.print(summary)
    layer_table = Table(title="layers", title_justify="left")
    for name in ("layer", "inputs", "units", "activation", "parameters"):
        layer_table.add_column(name, justify="right")
    for layer in layers:
        layer_table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in layer.values()))
    console.print(layer_table)
    training = meta.get("training") or {}
    if training:
        config = Table(show_header=False, box=None, title="training", title_justify="left")
        config.add_column(style="bold")
        config.add_column()
        for key, value in training.items():
            config.add_row(key, json.dumps(value))
        console.print(config)
    return EXIT_OK


# -- main ------------------------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    """One line saying what went wrong, without the exception machinery."""
    if isinstance(error, FileNotFoundError) and error.filename is not None:
        message = f"no such file: {error.filename}"
    elif isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = f"{error.strerror}: {error.filename}"
    elif isinstance(error, KeyError) and error.args:
        message = str(error.args[0])
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.split())


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 error, 130 Ctrl-C)."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        if argv[:1] == ["bench"]:
            return cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError(
                f"choose a command: train, evaluate, predict, gradcheck, info or bench "
                f"(see '{PROG} --help')"
            )
        return args.handler(args)
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except UsageError as error:
        return _fail(" ".join(str(error).split()))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        return EXIT_FAILED
    except USER_ERRORS as error:
        if os.environ.get("DELTAPROP_DEBUG"):
            raise
        return _fail(_describe(error))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
