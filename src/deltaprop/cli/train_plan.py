"""The plan of a ``deltaprop train`` run: its arguments, checked once, as one immutable ``RunPlan``.

The command line (``add_arguments``) has one flag per training option of the table
(``deltaprop.options.OPTIONS``), whose argparse type is the option's rule, so that a parsed value is
checked and ``TrainingConfig(..., checked=True)`` takes it as it is. ``make_plan`` turns the parsed
arguments of a new run, or of ``--resume DIR`` (the options its checkpoint stored), into the plan,
after checking every output location, before any data is loaded: a run that trains can be saved.

Output locations: ``--out`` must be absent, an empty folder, or a symlink to either, in a writable
folder; the checkpoint folder (``--checkpoint-dir``, else ``<out>.checkpoint``, else the resumed one)
must be new, or hold nothing but deltaprop's marker and dead runs' temporaries, and not be locked by
a live run. A checkpoint stores, under ``extra["cli"]``, the command's options that are not training
options (the training configuration is the checkpoint's own ``config``), its paths absolute, so that
a resume from any folder means the same files; a relative one (older checkpoints) is read relative to
the checkpoint folder's parent. A resume takes the options back; any given again must agree, but
``--out``. The stored options pass the same checks as the command line's: a tampered checkpoint is
refused in one line.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._files import stale_temporaries
from deltaprop._validation import NONNEGATIVE_INT
from deltaprop.checkpoint import CHECKPOINT_NAME, load_checkpoint
from deltaprop.cli._common import (
    PROG,
    Parser,
    add_column_options,
    add_network_options,
    hidden_sizes,
    name_in,
    one_of,
    rule_type,
    shown,
    split_names,
)
from deltaprop.costs import get_cost
from deltaprop.datasets import AUTO_SCALE, SCALE_CHOICES, SPEC_FORMS, SPLIT_FRACTIONS, Dataset, load_dataset
from deltaprop.errors import ModelFormatError
from deltaprop.network import INITIALIZERS, Network
from deltaprop.options import BY_NAME, OPTIONS, TrainingConfig, default_eta
from deltaprop.registry import Option
from deltaprop.scaling import NO_SCALING

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no locking
    fcntl = None  # type: ignore[assignment]

DTYPES = ("float64", "float32")
RUNS_FOLDER = Path("runs")
MARKER = ".deltaprop-checkpoint"
#: The command line's rule where it is stricter than ``fit``'s: its runs are always seeded.
CLI_RULES = {"seed": NONNEGATIVE_INT}
#: Where the command line does more with an option than ``fit``: its help says so instead.
CLI_HELP = {"seed": "seed of the data split, the initial weights, the shuffling and the dropout masks"}
#: The options a checkpoint stores for ``--resume``: the data, the network, where the run goes.
STORED = ("data", "data_dir", "label_column", "features", "validation_data", "test_data",
          "hidden", "activation", "output_activation", "cost", "init", "dtype",
          "scale", "out", "keep_checkpoints")
PREDATING = {"scale": NO_SCALING}
"""What a checkpoint written before an option existed ran with (runs were not scaled then)."""
DATA_KEYWORDS = ("digits", "mnist")


class OutputError(ValueError):
    """An output location that cannot be used; the message names the option and what to do."""


# -- the command line ------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``train``, in groups: data, network, training, output, checkpoints."""
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="digits", help=f"the data set: {SPEC_FORMS} (default: digits)")
    data.add_argument("--data-dir", default=None,
                      help="folder holding (or to receive) MNIST (default: $DELTAPROP_DATA/mnist, else "
                           "~/.cache/deltaprop/mnist)")
    add_column_options(data, model=False)
    for split in ("validation", "test"):
        data.add_argument(f"--{split}-data", default=None, metavar="FILE",
                          help=f"a table file used whole as the {split} data (the same columns, its labels "
                               f"among the training data's classes); --data is then not split for it "
                               f"(default: {round(100 * SPLIT_FRACTIONS[1])}%% of --data)")
    data.add_argument("--scale", choices=SCALE_CHOICES, default=AUTO_SCALE,
                      help="scaling of the input features, fitted on the training rows and saved in "
                           "the model (predict, evaluate, explain and ONNX apply it): standard (mean 0, "
                           "standard deviation 1), minmax (training range to [0, 1]) or none; auto: "
                           "standard for tables, none for images, which are already in [0, 1] "
                           "(default: auto)")
    net = parser.add_argument_group("network")
    net.add_argument("--hidden", type=hidden_sizes, default=[30], metavar="SIZES",
                     help="hidden layer sizes, comma-separated, e.g. 100 or 256,128; 'none' for "
                          "no hidden layer (default: 30)")
    add_network_options(net)
    net.add_argument("--init", type=name_in(INITIALIZERS), default="default",
                     help=f"weight initialization: {one_of(INITIALIZERS)} (default: default)")
    net.add_argument("--dtype", choices=DTYPES, default="float64",
                     help="float type of the parameters and the data: float64 or float32 "
                          "(default: float64)")
    training = parser.add_argument_group("training")
    for option in OPTIONS:
        add_training_option(training, option)
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


def shown_default(value: Any) -> str:
    """A default as a help text shows it: 30, 0.5, 1e-08, none, yes/no for booleans."""
    return "none" if value is None else ("yes" if value else "no") if isinstance(value, bool) else str(value)


def help_text(option: Option) -> str:
    """The option's help: the table's text, its choices, and its default unless the text gives it."""
    text = CLI_HELP.get(option.name, option.help)
    if option.rule.kind == "choice":
        text += f"; one of {', '.join(option.rule.choices)}"
    if "(default:" not in text:
        text += f" (default: {shown_default(option.default)})"
    return text.replace("%", "%%")  # argparse formats help texts with %


def add_training_option(group: Any, option: Option) -> None:
    """One option of the table as one flag of ``group``: its rule parses it (``--flag/--no-flag``
    for booleans, the choices listed for names), with the table's default."""
    keywords: dict[str, Any] = {"dest": option.name, "default": option.default, "help": help_text(option)}
    if option.rule.kind == "bool":
        keywords["action"] = argparse.BooleanOptionalAction
    elif option.rule.kind == "choice":
        keywords["choices"] = list(option.rule.choices)
    else:
        keywords["type"] = rule_type(CLI_RULES.get(option.name, option.rule))
        keywords["metavar"] = option.metavar
    group.add_argument(option.cli_flag, **keywords)


def train_parser() -> Parser:
    """The parser of ``deltaprop train`` alone: its defaults and actions check stored options."""
    parser = Parser(prog=f"{PROG} train")
    add_arguments(parser)
    return parser


# -- the plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """Everything a ``deltaprop train`` run will do, checked: the data (a file's or folder's path
    absolute), the network, the training configuration, where the run and its checkpoints go
    (absolute, symlinks followed; ``checkpoint_label`` is how messages name that folder, and
    ``checkpoint_advice`` what they advise when it cannot be used), the checkpoint folder resumed
    (None: a new run), and how the run is shown."""

    data: str
    data_dir: Path | None
    label_column: str | None
    features: str | None
    validation_data: str | None
    test_data: str | None
    hidden: tuple[int, ...]
    activation: str
    output_activation: str | None
    cost: str
    init: str
    dtype: str
    scale: str
    config: TrainingConfig
    out: Path
    checkpoint_dir: Path
    checkpoint_label: str
    checkpoint_advice: str
    keep_checkpoints: bool
    resume: Path | None
    quiet: bool
    json: bool
    no_plots: bool

    def stored(self) -> dict[str, Any]:
        """The options a checkpoint keeps for ``--resume`` (``STORED``), as JSON values."""
        values = {name: getattr(self, name) for name in STORED}
        return {**values, "hidden": list(self.hidden), "out": str(self.out),
                "data_dir": None if self.data_dir is None else str(self.data_dir)}

    def load_data(self) -> Dataset:
        """The run's data set (``load_dataset``): --data in --dtype, split with --seed, its columns
        and held-out files as the options say."""
        return load_dataset(self.data, data_dir=self.data_dir, dtype=self.dtype, seed=self.config.seed,
                            label_column=self.label_column, features=split_names(self.features),
                            validation_data=self.validation_data, test_data=self.test_data)

    def options(self) -> dict[str, Any]:
        """The command's options but the training configuration, as config.json keeps them."""
        return {**self.stored(), "checkpoint_dir": str(self.checkpoint_dir),
                "resume": None if self.resume is None else str(self.resume), "quiet": self.quiet,
                "json": self.json, "no_plots": self.no_plots}


def make_plan(args: argparse.Namespace) -> RunPlan:
    """The plan of the parsed command line: a new run, or the run checkpointed in ``--resume``."""
    if args.resume is not None:
        return _resumed_plan(args)
    options = {name: getattr(args, name) for name in STORED[:-1]}
    return _plan(args, _absolute_paths(options), training_config(args), None, False)


def training_config(args: argparse.Namespace) -> TrainingConfig:
    """A new run's configuration from its parsed flags, whose types are the options' rules (so it is
    made ``checked``); η, when not given, as ``fit`` resolves it (plain SGD's from ``--cost``), so
    that the checks before training see the η the run will use."""
    values = {option.name: getattr(args, option.name) for option in OPTIONS}
    if values["eta"] is None:
        values["eta"] = default_eta(values["optimizer"], get_cost(args.cost))
    return TrainingConfig(**values, checked=True)


def _plan(args: argparse.Namespace, options: dict[str, Any], config: TrainingConfig,
          source: Path | None, keep: bool) -> RunPlan:
    """The plan of ``options`` (``STORED``'s, paths absolute) and ``config``, with the presentation
    options of ``args``, once every output location is checked; the checkpoints are kept when
    ``keep`` (the resumed run's option) or given a ``--checkpoint-dir``."""
    out = run_directory_path(options["out"])
    folder, label, advice = checkpoint_place(args.checkpoint_dir, source, out)
    check_checkpoint_dir(folder, label, advice, source=source, final=out)
    data_dir = None if options["data_dir"] is None else Path(options["data_dir"])
    return RunPlan(
        **{**options, "data_dir": data_dir, "hidden": tuple(options["hidden"]), "out": out}, config=config,
        checkpoint_dir=folder, checkpoint_label=label, checkpoint_advice=advice,
        keep_checkpoints=keep or args.checkpoint_dir is not None, resume=source, quiet=args.quiet,
        json=args.json, no_plots=args.no_plots)


# -- paths and output locations --------------------------------------------------------------------


def absolute_path(value: str | None, option: str, base: Path | None = None) -> str | None:
    """A path option as stored: absolute (relative ones taken from ``base``, else the current
    folder); a data spec keeps its keyword (digits, mnist) and its ``idx:`` prefix."""
    if value is None:
        return None
    text, prefix = value.strip(), ""
    if option == "data" and text.lower() in DATA_KEYWORDS:
        return value
    if option == "data" and text.lower().startswith("idx:") and text[4:]:
        prefix, text = text[:4], text[4:]
    path = Path(os.path.expanduser(text))
    return prefix + os.path.abspath(base / path if base is not None else path)


def _absolute_paths(options: dict[str, Any], base: Path | None = None) -> dict[str, Any]:
    """``options`` with --data, --data-dir, the held-out files and --out absolute (see
    ``absolute_path``)."""
    return {**options, **{name: absolute_path(options[name], name, base)
                          for name in ("data", "data_dir", "validation_data", "test_data", "out")}}


def real_path(text: str | os.PathLike[str]) -> Path:
    """``text`` with ``~`` expanded, made absolute, symlinks followed (a link to a folder is that
    folder); raises OutputError for a symlink loop."""
    try:
        return Path(os.path.realpath(os.path.expanduser(os.fspath(text)), strict=False))
    except (OSError, RuntimeError) as error:
        raise OutputError(f"{text}: cannot follow its symlinks ({error})") from None


def check_creatable(path: Path, option: str) -> None:
    """``path`` (absent) can be made: its nearest existing ancestor is a writable folder."""
    ancestor = next(folder for folder in path.parents if folder.exists() or folder == folder.parent)
    if not ancestor.is_dir():
        raise OutputError(f"{option} {shown(path)}: {shown(ancestor)} is a file, so no folder can be "
                          f"made in it; choose another {option}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {shown(path)}: the folder {shown(ancestor)} is not writable; "
                          f"choose another {option} or fix its permissions")


def foreign_entries(folder: Path, *ours: str) -> list[str]:
    """What ``folder`` holds but ``ours`` and the temporary names of dead processes (an
    OutputError naming it when it cannot be read)."""
    try:
        names = os.listdir(folder)
    except OSError as error:
        raise OutputError(f"{folder}: cannot read the folder: {error.strerror}") from None
    stale = {p.name for p in stale_temporaries(folder)}
    return sorted(set(names) - stale - set(ours))


def run_directory_path(out: str | None) -> Path:
    """Where the run goes, absolute: ``--out`` (absent, an empty folder, or a symlink to either),
    else a new runs/<timestamp>. Raises OutputError, naming --out and what to do, otherwise."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path, n = real_path(RUNS_FOLDER / stamp), 1
        while path.exists() or path.with_name(path.name + ".checkpoint").exists():
            path, n = real_path(RUNS_FOLDER / f"{stamp}-{n}"), n + 1
        check_creatable(path, "the runs folder")
        return path
    path = real_path(out)
    if not path.exists():
        check_creatable(path, "--out")
    elif not path.is_dir():
        raise OutputError(f"--out {shown(path)} is a file; expected a new or empty folder for the run: "
                          f"choose another --out")
    elif foreign_entries(path):
        raise OutputError(f"--out {shown(path)} is a folder that already holds files; a run is written "
                          f"only to a new or empty folder: choose another --out")
    elif not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"--out {shown(path)} is not writable; choose another --out or fix its "
                          f"permissions")
    return path


def checkpoint_place(checkpoint_dir: str | None, source: Path | None, out: Path) -> tuple[Path, str, str]:
    """The checkpoint folder (absolute), how messages name it, and what they advise when it cannot
    be used: ``--checkpoint-dir``, else the resumed folder, else ``<out>.checkpoint``."""
    folder = None if checkpoint_dir is None else real_path(checkpoint_dir)
    if source is not None and folder in (None, source):
        return (source, f"--resume {shown(source)}",
                "pass --checkpoint-dir DIR to save this run's checkpoints elsewhere")
    if folder is not None:
        return folder, f"--checkpoint-dir {checkpoint_dir}", "choose another --checkpoint-dir"
    path = out.with_name(out.name + ".checkpoint")
    return (path, f"the checkpoint folder {shown(path)} (of --out)",
            "move it away, or pass --checkpoint-dir DIR")


def marked(folder: Path) -> bool:
    """Whether ``folder`` carries deltaprop's marker: it is a checkpoint folder deltaprop made."""
    return (folder / MARKER).is_file() and not (folder / MARKER).is_symlink()


def holder(folder: Path) -> int | None:
    """The PID of the live process whose run uses ``folder`` (holds its marker's lock), or None."""
    if fcntl is None or not marked(folder):
        return None
    try:
        fd = os.open(folder / MARKER, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        text = os.read(fd, 64).decode(errors="replace").split()
        return int(text[-1]) if text and text[-1].isdigit() else -1
    finally:
        os.close(fd)
    return None


def in_use_message(label: str, pid: int, advice: str) -> str:
    who = f"pid {pid}" if pid > 0 else "another process"
    return f"{label} is in use by another {PROG} train run ({who}); wait for it to end, or {advice}"


def lock_marker(folder: Path, label: str, advice: str) -> int | None:
    """Take the lock of ``folder``'s marker for this run, its PID written there: the descriptor that
    holds it (None where there is no locking); OutputError when a live run holds it."""
    if fcntl is None:
        return None
    fd = os.open(folder / MARKER, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise OutputError(in_use_message(label, holder(folder) or -1, advice)) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{PROG} checkpoint folder, used by pid {os.getpid()}\n".encode())
    return fd


def check_checkpoint_dir(path: Path, label: str, advice: str, *, source: Path | None,
                         final: Path) -> None:
    """Before training: ``path`` can take this run's checkpoints. It is the resumed folder, or a
    new folder, or an empty one (deltaprop's marker and dead runs' temporary files aside)."""
    if path == final or final in path.parents:
        raise OutputError(f"{label} is inside --out {shown(final)}; checkpoints go elsewhere: {advice}")
    if not path.exists():
        check_creatable(path, label)
        return
    if not path.is_dir():
        raise OutputError(f"{label} is a file; expected a folder for the checkpoints: {advice}")
    pid = holder(path)
    if pid is not None:
        raise OutputError(in_use_message(label, pid, advice))
    names = [] if path == source else foreign_entries(path, MARKER)
    if CHECKPOINT_NAME in names:
        raise OutputError(f"{label} holds the checkpoint of another run: resume that run "
                          f"(--resume with this folder), or remove it, or {advice}")
    if names:
        raise OutputError(f"{label} already holds files that are not {PROG}'s; checkpoints go to "
                          f"a new or empty folder: {advice}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{label} is not writable; fix its permissions, or {advice}")


# -- --resume: the stored options ------------------------------------------------------------------


def checkpoint_folder(text: str) -> Path:
    """The folder ``--resume`` names (the checkpoint file itself names its folder), checked."""
    path = real_path(text)
    if path.is_file() and path.name == CHECKPOINT_NAME:
        return path.parent
    if not path.exists():
        raise OutputError(f"--resume {text}: no such folder; give the checkpoint folder that "
                          f"'{PROG} train' printed when the run stopped")
    if not path.is_dir():
        raise OutputError(f"--resume {text} is a file; expected the checkpoint folder that holds "
                          f"{CHECKPOINT_NAME}")
    if not (path / CHECKPOINT_NAME).is_file():
        raise OutputError(f"--resume {text} holds no {CHECKPOINT_NAME}; give the checkpoint folder "
                          f"that '{PROG} train' printed when the run stopped")
    return path


def _resumed_plan(args: argparse.Namespace) -> RunPlan:
    """The plan of the run checkpointed in ``args.resume``: its stored options and configuration,
    with this call's presentation options, ``--out`` and ``--checkpoint-dir`` when given."""
    source = checkpoint_folder(args.resume)
    state = load_checkpoint(source).state  # its config checked by the checkpoint's schema
    stored = state["extra"].get("cli")
    if not isinstance(stored, dict) or not isinstance(stored.get("out"), str):
        raise ValueError(f"--resume {args.resume}: the checkpoint was not written by '{PROG} train'; "
                         f"resume it with deltaprop.fit(..., resume=True)")
    parser = train_parser()
    defaults = vars(parser.parse_args([]))
    _check_stored(stored, {action.dest: action for action in parser._actions}, source)
    config = TrainingConfig(**state["config"], checked=True)
    options = _absolute_paths({name: stored.get(name, PREDATING.get(name, defaults[name]))
                               for name in STORED[:-1]}, base=source.parent)
    _given_agree(args, defaults, {**options, **config.as_dict()})
    if args.out is not None:
        options["out"] = absolute_path(args.out, "out")
    return _plan(args, options, config, source, bool(stored.get("keep_checkpoints")))


def _given_agree(args: argparse.Namespace, defaults: dict[str, Any], run: dict[str, Any]) -> None:
    """Every option given now (not at its default) but ``--out`` equals the checkpointed run's."""
    for key, value in vars(args).items():
        if key == "out" or key not in run:
            continue
        if key in ("data", "data_dir", "validation_data", "test_data"):
            value = absolute_path(value, key)
        if value != defaults.get(key) and value != run[key]:
            flag = BY_NAME[key].cli_flag if key in BY_NAME else "--" + key.replace("_", "-")
            raise ValueError(f"{flag} {value} differs from the checkpointed run's {run[key]!r}; a "
                             f"resumed run keeps its original options: leave {flag} out")


def _check_stored(stored: dict[str, Any], actions: dict[str, argparse.Action], source: Path) -> None:
    """Every stored option passes the command line's check: a training option (which checkpoints of
    earlier releases stored here too) its rule, the others the parser's; else one clear line."""
    for key, value in stored.items():
        where = f"{source / CHECKPOINT_NAME}: stored option {key!r} = {str(value)[:60]!r}"
        try:
            if key in BY_NAME:
                CLI_RULES.get(key, BY_NAME[key].rule).check(key, value)
            elif key == "keep_checkpoints" or key in actions:
                _check_stored_value(value, actions.get(key))
            else:
                raise ValueError(f"not an option of '{PROG} train'")
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise ModelFormatError(f"{where}: {error}") from None


def _check_stored_value(value: Any, action: argparse.Action | None) -> None:
    """``value`` is one the parser's ``action`` could give (None: true or false)."""
    if action is None or action.nargs == 0:  # flags: true or false
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return
    if value is None and action.default is None:
        return
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        text = ",".join(map(str, value)) or "none"
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        raise ValueError(f"expected a value of {action.option_strings[0]}")
    parsed = action.type(text) if callable(action.type) else text
    if parsed != value or (action.choices is not None and value not in action.choices):
        raise ValueError(f"expected a valid value of {action.option_strings[0]}")


# -- the regularization, checked against the data and the network before training ------------------


def decay_limit(config: TrainingConfig) -> float:
    """The largest stable ηλ/n of SGD's weight decay (plain, momentum, Nesterov; 2 without momentum)."""
    mu = config.momentum
    return 2 * (1 + mu) / (1 + 2 * mu) if config.nesterov else 2 * (1 + mu)


def check_regularization(config: TrainingConfig, rows: int, net: Network) -> None:
    """Refuse (ValueError naming --lmbda or --l1) a regularization that overflows, or an SGD weight
    decay so strong that the weights grow at every step.

    With n the n of λ/n (``Regularization.n``: the training rows, or the smallest mini-batch's rows),
    plain SGD multiplies the weights by 1 − ηλ/n at each step on top of the cost's gradient: for
    ηλ/n beyond ``decay_limit`` they grow without bound whatever the data. Whatever the optimizer, a
    regularization gradient (λ/n)|w| + λ₁/n beyond the square root of the dtype's largest number
    overflows (Adam squares the gradient; the cost adds (λ/2n) Σ w²)."""
    regularization = config.regularization
    if not regularization or rows < 1:
        return
    k = min(config.batch_size, rows)
    n = regularization.n(rows, rows % k or k)  # the last mini-batch's rows, the smallest
    limit = math.sqrt(float(np.finfo(net.dtype).max))
    largest = max(float(np.max(np.abs(w))) for w in net.weights)
    for name, scale in (("lmbda", largest), ("l1", 1.0)):
        value, flag = getattr(config, name), BY_NAME[name].cli_flag
        if value and not value / n * scale < limit:
            raise ValueError(
                f"{flag} {value:g} is too large: the regularization overflows {net.dtype.name} (its "
                f"gradient reaches {value / n * scale:.3g}, n = {n}); choose {flag} below "
                f"{limit * n / max(scale, 1e-300):.3g}")
    decay, limit = config.eta * config.lmbda / n, decay_limit(config)
    if config.optimizer == "sgd" and decay >= limit:
        raise ValueError(
            f"--lmbda {config.lmbda:g} is too large for --eta {config.eta:g}: the weight decay "
            f"η·λ/n = {decay:.3g} per step (n = {n}) is past the stable limit {limit:.3g}, so the "
            f"weights grow at every step and training diverges; choose --lmbda below "
            f"{limit * n / config.eta:.3g} or a smaller --eta")
