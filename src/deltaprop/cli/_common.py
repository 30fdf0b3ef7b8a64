"""What every command shares: exit codes, the parser class, argument types, output and model helpers.

Argument types raise ``argparse.ArgumentTypeError``, which the parser turns into one
``UsageError`` line; output helpers print rich text on the console or plain JSON on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from deltaprop import _output, io
from deltaprop._files import jsonable
from deltaprop._validation import FRACTION, NONNEGATIVE, NONNEGATIVE_INT, POSITIVE, POSITIVE_INT, Rule
from deltaprop.activations import ACTIVATIONS
from deltaprop.costs import COSTS
from deltaprop.datasets import Dataset, Split, TableRows, is_table, read_table
from deltaprop.datasets.columns import indices_among
from deltaprop.datasets.resolve import (
    load_resolved,
    resolve_columns,
    resolve_data,
    stored_location,
    stored_spec,
)
from deltaprop.errors import DeltapropError
from deltaprop.limits import MAX_LAYERS, MAX_MESSAGE_CHARS, short_list
from deltaprop.network import DEFAULT_COST, Network
from deltaprop.registry import Registry

PROG = "deltaprop"
EXIT_OK = 0
EXIT_FAILED = 1  # a gradient check failed, or the reader of stdout went away
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
MAX_MESSAGE = MAX_MESSAGE_CHARS  # characters of an error line on stderr, "deltaprop: error: " included
USER_ERRORS = (ValueError, TypeError, OSError, KeyError, DeltapropError)
DEFAULT_ACTIVATION = "sigmoid"
LABEL_CHARS = 40  # characters of a class label in a table column


class UsageError(Exception):
    """A command line argparse rejects; reported in one line, exit status 2."""


#: An argparse message refusing a choice: "argument COMMAND: invalid choice: 'trian' (choose from ...)".
INVALID_CHOICE = re.compile(r"^(?P<head>.*invalid choice: (?P<given>'.*?'))"
                            r"(?P<tail> \(choose from (?P<choices>.*)\))$")
#: How close a known name must be to an unknown one to be suggested (difflib's ratio).
SUGGESTION_CUTOFF = 0.6


def closest(given: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``given`` ('trian' -> 'train', '--hiden' -> '--hidden'), or None
    when none is close."""
    found = difflib.get_close_matches(given, list(known), n=1, cutoff=SUGGESTION_CUTOFF)
    return found[0] if found else None


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one ``UsageError`` line instead of usage + message, and
    which suggests the closest command, choice or option for an unknown one ("did you mean")."""

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """argparse's parse_args, refusing unknown arguments from the parser of the command they
        were given to, with the closest option of that command."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self._command_parser(parsed)
            options = [flag for action in parser._actions for flag in action.option_strings]
            unknown = [word.split("=", 1)[0] for word in extras if word.startswith("-")]
            near = next((found for word in unknown if (found := closest(word, options))), None)
            hint = f"; did you mean {near}?" if near else ""
            parser.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return parsed

    def _command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The subcommand's parser that ``parsed`` went through (this one when none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest or "", None) or "")
                if isinstance(chosen, Parser):
                    return chosen._command_parser(parsed)
        return self

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise ``UsageError`` naming the subcommand and pointing at its ``--help``; an invalid
        choice gets the closest valid one."""
        choice = INVALID_CHOICE.match(message)
        if choice:
            near = closest(choice["given"].strip("'"), re.findall(r"'([^']*)'", choice["choices"]))
            if near is not None:
                message = f"{choice['head']}; did you mean '{near}'?{choice['tail']}"
        command = self.prog.removeprefix(PROG).strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see '{self.prog} --help')")


# -- argument types --------------------------------------------------------------------------------


def rule_type(rule: Rule) -> Callable[[str], Any]:
    """An argparse type: ``rule.parse``, the one check of such values, its ValueError raised as the
    ``argparse.ArgumentTypeError`` whose message argparse shows ("expected an integer >= 1, got '0'")."""

    def parse(text: str) -> Any:
        try:
            return rule.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


positive_int = rule_type(POSITIVE_INT)
nonnegative_int = rule_type(NONNEGATIVE_INT)
positive_float = rule_type(POSITIVE)
nonnegative_float = rule_type(NONNEGATIVE)
fraction = rule_type(FRACTION)


def _size_list(text: str, allow_empty: bool = False) -> list[int]:
    """'100' or '256,128' -> [256, 128]; '' or 'none' -> [] when allowed."""
    if allow_empty and text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]  # int() ignores the spaces around
    except ValueError:
        sizes = []
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like '100' or '256,128', got {text!r}"
        )
    return sizes


def hidden_sizes(text: str) -> list[int]:
    """Hidden layer sizes: '100', '256,128', or 'none' for no hidden layer."""
    return _size_list(text, allow_empty=True)


def layer_sizes(text: str) -> list[int]:
    """All layer sizes, input first: at least two."""
    sizes = _size_list(text)
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(
            f"expected at least an input and an output size like '64,30,10', got {text!r}"
        )
    if len(sizes) - 1 > MAX_LAYERS:
        raise argparse.ArgumentTypeError(
            f"{len(sizes) - 1:,} layers, more than the limit of {MAX_LAYERS:,} ({MAX_LAYERS + 1:,} sizes)")
    return sizes


def name_in(registry: Registry[Any]) -> Callable[[str], str]:
    """An argparse type: a name of ``registry`` (read when parsing, so names registered later
    count), with hyphens read as underscores; an unknown one gets the registry's message."""

    def parse(text: str) -> str:
        try:
            registry.get_entry(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return text.strip().replace("-", "_")

    return parse


def one_of(names: Mapping[str, Any] | tuple[str, ...]) -> str:
    """'a, b or c': the allowed names for a help text."""
    ordered = sorted(names)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"


def add_network_options(parser: Any, cost: str = DEFAULT_COST) -> None:
    """--activation, --output-activation, --cost: shared by train, gradcheck and explain (whose
    fresh networks default to chapter 2's quadratic ``cost``). --activation takes only the
    elementwise activations (read when parsing, so those registered later count); one that couples
    the units, like softmax, is refused in one line pointing at --output-activation."""

    def hidden() -> tuple[str, ...]:
        return tuple(sorted(name for name, act in ACTIVATIONS.items() if act.elementwise))

    def hidden_activation(text: str) -> str:
        name = name_in(ACTIVATIONS)(text)  # an unknown name: the registry's message
        if not ACTIVATIONS[name].elementwise:
            raise argparse.ArgumentTypeError(
                f"{name} couples the units of a layer (each output depends on all of them), so it "
                f"is only for the output layer: use --output-activation {name}; hidden layers take "
                f"{one_of(hidden())}")
        return name

    parser.add_argument("--activation", type=hidden_activation, default=DEFAULT_ACTIVATION,
                        help=f"activation of the hidden layers: {one_of(hidden())} "
                             f"(default: {DEFAULT_ACTIVATION})")
    parser.add_argument("--output-activation", type=name_in(ACTIVATIONS), default=None,
                        help=f"activation of the output layer: {one_of(ACTIVATIONS)} (default: "
                             "softmax with the log_likelihood cost, else sigmoid)")
    parser.add_argument("--cost", type=name_in(COSTS), default=cost,
                        help=f"cost function: {one_of(COSTS)}; hyphens may replace underscores "
                             f"(default: {cost})")


# -- output ----------------------------------------------------------------------------------------


def console(stderr: bool = False) -> Any:
    """A rich Console on stdout (or stderr), without automatic highlighting, whose strings lose their
    control characters (``_output.console``: untrusted text goes through ``plain``/``styled``)."""
    return _output.console(stderr)


def percent(value: float | None) -> str:
    """0.9512 -> '95.12%'; None -> '–'."""
    return "–" if value is None else f"{100 * value:.2f}%"


def print_json(value: Any) -> None:
    """One line of JSON on stdout."""
    print(json.dumps(jsonable(value), allow_nan=False))


def class_names(net: Network) -> list[str]:
    """The label of each output unit as shown: the network's classes, else 0 .. n-1."""
    return [str(c) for c in (range(net.sizes[-1]) if net.classes is None else net.classes)]


def numbers_table(title: str | None, *columns: str, left: int = 0) -> Any:
    """A rich Table, its title and caption on the left, its ``columns`` right-justified but the first
    ``left``."""
    from rich.table import Table

    table = Table(title=None if title is None else _output.plain(title, None), title_justify="left",
                  caption_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right")
    return table


def confusion_table(matrix: np.ndarray, title: str, names: list[str] | None = None) -> Any:
    """A rich Table of a confusion matrix (rows: true labels) with each class's recall, compact
    enough for an 80-column terminal with ten classes and four-digit counts: no vertical rules,
    one space between columns, recall with one decimal. ``names``: the classes (default 0..n-1)."""
    from rich import box
    from rich.table import Table

    table = Table(title=_output.plain(f"{title} (rows: true class, columns: predicted class)", None),
                  title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                  show_edge=False)
    table.add_column("true", justify="right", style="bold", no_wrap=True)
    names = [str(i) for i in range(matrix.shape[0])] if names is None else names
    for j in range(matrix.shape[1]):
        table.add_column(_output.plain(names[j], LABEL_CHARS), justify="right", no_wrap=True)
    table.add_column("recall", justify="right", no_wrap=True)
    for i, row in enumerate(matrix):
        cells = [f"[bold green]{v}[/]" if i == j else (str(v) if v else "[dim]0[/]")
                 for j, v in enumerate(row)]
        recall = "–" if not row.sum() else f"{100 * row[i] / row.sum():.1f}%"
        table.add_row(_output.plain(names[i], LABEL_CHARS), *cells, recall)
    return table


#: errno -> what to do about it, for the messages of failed reads and writes.
OS_ADVICE = {
    errno.ENOSPC: "free some space on that disk or write elsewhere",
    errno.EDQUOT: "free some space (your disk quota is used up) or write elsewhere",
    errno.EFBIG: "raise the file size limit (ulimit -f) or write elsewhere",
    errno.EROFS: "write to a disk that is not read-only",
    errno.EACCES: "fix the permissions or write elsewhere",
    errno.EPERM: "fix the permissions or write elsewhere",
    errno.EMFILE: "raise the open files limit (ulimit -n)",
    errno.EIO: "check the disk",
}


def os_problem(error: OSError) -> tuple[str, str]:
    """(what went wrong, what to do) for a failed read or write, e.g. ('No space left on device:
    run/model.safetensors', 'free some space on that disk or write elsewhere')."""
    what = error.strerror or str(error) or type(error).__name__
    if error.filename is not None and error.strerror:
        what = f"{error.strerror}: {error.filename}"
    return " ".join(what.split()), OS_ADVICE.get(error.errno or 0, "fix that and try again")


def describe(error: BaseException) -> str:
    """One line saying what went wrong, without the exception machinery (an error's ``summary``,
    when it has one, e.g. a failed download's without the mirrors' addresses)."""
    summary = getattr(error, "summary", None)
    if isinstance(summary, str) and summary:
        message = summary
    elif isinstance(error, FileNotFoundError) and error.filename is not None:
        message = f"no such file: {error.filename}"
    elif isinstance(error, OSError) and error.strerror and error.errno in OS_ADVICE:
        message = "; ".join(os_problem(error))
    elif isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = f"{error.strerror}: {error.filename}"
    elif isinstance(error, KeyError) and error.args:
        message = str(error.args[0])
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.split())


def shown(path: str | os.PathLike[str]) -> str:
    """A path as messages show it: relative to the current folder when inside it, else absolute."""
    text = os.fspath(path)
    with contextlib.suppress(ValueError, OSError):
        relative = os.path.relpath(text)
        if not relative.startswith(os.pardir):
            return relative
    return text


def fail(message: str) -> int:
    """Print ``deltaprop: error: message`` on stderr, one line of at most ``MAX_MESSAGE``
    characters; return the usage exit status."""
    print(_output.line("error", message), file=sys.stderr)
    return EXIT_USAGE


# -- models on data --------------------------------------------------------------------------------


def check_compatible(net: Network, dataset: Dataset, model: str) -> None:
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
    stored = None if net.classes is None else net.classes.tolist()
    given = None if dataset.classes is None else list(dataset.classes)
    if stored is not None and given is not None and stored != given:
        raise ValueError(f"model {model} predicts the classes {short_list(stored)}, but the "
                         f"{dataset.name} data has the classes {short_list(given)}")


def column_names(text: str) -> str:
    """An argparse type: column names, comma-separated ('a, b,c'), as 'a,b,c' (the spaces around
    names dropped); ``split_names`` makes the tuple."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, like 'a,b,c', "
                                         f"got {text!r}")
    return ",".join(names)


def split_names(text: str | None) -> tuple[str, ...] | None:
    """The names of a ``column_names`` value ('a,b' -> ('a', 'b')); None for None."""
    return None if text is None else tuple(text.split(","))


def add_column_options(parser: Any, model: bool = True) -> None:
    """--label-column and --features: the columns of a .csv or .parquet table (train's, or those of
    the data a ``model`` runs on, by default the ones it was trained with)."""
    trained = "; for a model: the one it was trained with" if model else ""
    parser.add_argument("--label-column", default=None, metavar="NAME",
                        help=f"the label column of a .csv or .parquet table (default: 'label', else "
                             f"'target'{trained})")
    parser.add_argument("--features", type=column_names, default=None, metavar="A,B,...",
                        help="the feature columns of a .csv or .parquet table, comma-separated, in "
                             f"order (default: every other column{trained.replace('one', 'ones')}); "
                             "they must hold numbers (text columns need one-hot encoding, not "
                             "supported yet)")


class ModelRows(NamedTuple):
    """A saved model and the rows it runs on: ``X`` (m, n_in), ``y`` (m,) the output unit of each
    row's label, the data spec, how messages name the rows ("every row of iris.csv", "the test
    split of digits"), and the split ("train", "validation", "test", or "all": a table file whole)."""

    net: Network
    X: np.ndarray
    y: np.ndarray
    data: str
    described: str
    split: str


def rows_for_model(args: argparse.Namespace, dtype: str | None = None) -> ModelRows:
    """The model ``args.model`` and its rows: a table file given as ``--data`` whole, unless
    ``--split`` asks for one of its splits (``model_on_table``); else ``--split`` (default: test)
    of the data it resolves to (``model_on_data``)."""
    if args.split is None and args.data is not None and is_table(args.data):
        net, table, units = model_on_table(args)
        return ModelRows(net, table.X, units, args.data, f"every row of {table.path.name}", "all")
    split_name = args.split or "test"
    net, spec, dataset, split, described = model_on_data(args, dtype, split_name)
    if split.X.shape[0] == 0:
        raise ValueError(f"the {split_name} split of the {dataset.name} data is empty")
    labels = split.y if net.classes is None or dataset.classes is None else net.classes[split.y]
    return ModelRows(net, split.X, net.check_labels(labels), spec, described, split_name)


def model_on_table(args: argparse.Namespace) -> tuple[Network, TableRows, np.ndarray]:
    """The saved model ``args.model``, the table file ``args.data`` read whole for it
    (``read_table``: the columns of --label-column and --features, else those the model stores:
    ``resolve_columns``), and each row's label as an output unit (m,) of the model's classes."""
    net, meta, _ = io.load_with_metadata(args.model)
    columns = resolve_columns(meta, args.data, args.label_column, split_names(args.features))
    table = read_table(args.data, features=columns.features, label_column=columns.label_column,
                       need_labels=True, n_features=net.sizes[0])
    classes = None if net.classes is None else tuple(net.classes.tolist())
    units = indices_among(table.labels, classes, net.sizes[-1], table.labels_name, table.label_at)
    return net, table, units


def model_on_data(args: argparse.Namespace, dtype: str | None = None,
                  split: str | None = None) -> tuple[Network, str, Dataset, Split, str]:
    """The saved model ``args.model``, the spec of the data it runs on (``resolve_data``: --data,
    else the model's own, else digits; --data-dir and --seed likewise; its columns and held-out
    files by ``resolve_columns``), those data (in ``dtype``, by default the model's) checked against
    it, their split ``split`` (default: ``args.split``), and how messages name that split ("the test
    split of digits", "test.csv, the test data of train")."""
    net, meta, _ = io.load_with_metadata(args.model)
    source = resolve_data(meta, args.data, args.data_dir, args.seed)
    columns = resolve_columns(meta, source.spec, args.label_column, split_names(args.features))
    with stored_location(source, from_model=args.data is None and stored_spec(meta) is not None):
        dataset = load_resolved(source, columns, dtype or net.dtype.name)
        check_compatible(net, dataset, args.model)
    name = split or args.split
    held = getattr(columns, f"{name}_data", None)
    described = (f"the {name} split of {dataset.name}" if held is None
                 else f"{os.path.basename(held)}, the {name} data of {dataset.name}")
    return net, source.spec, dataset, getattr(dataset, name), described
