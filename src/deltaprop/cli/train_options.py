"""The training options of ``deltaprop train``, made from the one table of them.

Each field of ``deltaprop.options.TrainingConfig`` (``deltaprop.options.OPTIONS``) becomes one flag:
its type and validation from the field's ``check``, ``--flag/--no-flag`` for booleans, the choices
listed, and the field's default, which is also ``fit``'s, shown in its help. Nothing here names an
option: a field added to the table is a new flag.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from deltaprop.cli._common import fraction, nonnegative_float, nonnegative_int, positive_float, positive_int
from deltaprop.costs import get_cost
from deltaprop.options import OPTIONS, default_eta

Option = dataclasses.Field[Any]

#: The argparse type of each ``check`` of the table (booleans and choices need none).
CHECK_TYPES: dict[str, Callable[[str], Any]] = {
    "positive_int": positive_int,
    "optional_positive_int": positive_int,
    "optional_seed": nonnegative_int,  # the command line always seeds: its runs are reproducible
    "positive": positive_float,
    "nonnegative": nonnegative_float,
    "fraction": fraction,
}

#: Where the command line does more with an option than ``fit``: its help says so instead.
CLI_HELP = {
    "seed": "seed of the data split, the initial weights, the shuffling and the dropout masks",
}


def flag(option: Option) -> str:
    """The option's command-line flag: the table's override, else ``--`` + its name with hyphens."""
    return option.metadata.get("flag") or "--" + option.name.replace("_", "-")


def flag_of(name: str) -> str:
    """The flag of the training option called ``name``."""
    return flag(next(option for option in OPTIONS if option.name == name))


def shown_default(value: Any) -> str:
    """A default as a help text shows it: 30, 0.5, 1e-08, none, yes/no for booleans."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def help_text(option: Option) -> str:
    """The option's help: the table's text, its choices, and its default unless the text gives it."""
    text = CLI_HELP.get(option.name, option.metadata["help"])
    choices = option.metadata.get("choices")
    if choices:
        text += f"; one of {', '.join(choices)}"
    if "(default:" not in text:
        text += f" (default: {shown_default(option.default)})"
    return text.replace("%", "%%")  # argparse formats help texts with %


def add_training_option(group: Any, option: Option) -> None:
    """One table field as one argument of ``group`` (a parser or an argument group)."""
    check = option.metadata["check"]
    keywords: dict[str, Any] = {"dest": option.name, "default": option.default,
                                "help": help_text(option)}
    if check == "bool":
        keywords["action"] = argparse.BooleanOptionalAction
    elif check == "choice":
        keywords["choices"] = list(option.metadata["choices"])
    else:
        keywords["type"] = CHECK_TYPES[check]
        if option.metadata.get("metavar"):
            keywords["metavar"] = option.metadata["metavar"]
    group.add_argument(flag(option), **keywords)


def add_training_options(group: Any) -> None:
    """Every training option of the table, in its order."""
    for option in OPTIONS:
        add_training_option(group, option)


def training_options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed training options as ``fit``'s keyword arguments (and ``TrainingConfig``'s). A new
    run's η is resolved as ``fit`` resolves it (plain SGD's from ``--cost``), so that the checks made
    before training see the η the run will use; a resumed run's comes from its checkpoint."""
    options = {option.name: getattr(args, option.name) for option in OPTIONS}
    if options["eta"] is None and args.resume is None:
        options["eta"] = default_eta(options["optimizer"], get_cost(args.cost))
    return options
