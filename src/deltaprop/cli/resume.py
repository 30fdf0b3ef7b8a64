"""``deltaprop train --resume DIR``: the options a checkpoint keeps, and the run they continue.

A checkpoint written by ``deltaprop train`` stores the run's options (all but those that only change
how the run is shown) under ``extra["cli"]``; the paths among them (``--out``, a data file,
``--data-dir``) are stored absolute, so that a resume from any folder means the same files. (Older
checkpoints stored them as given: a relative one is read relative to the checkpoint folder's parent,
where ``<out>.checkpoint`` sits beside ``--out``, never relative to the current folder.) A resume
takes the options back; any option given again must agree with them, but ``--out``, which may move
the run directory elsewhere.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from deltaprop.checkpoint import CHECKPOINT_NAME, load_checkpoint
from deltaprop.cli._common import PROG
from deltaprop.cli.rundir import OutputError, real_path
from deltaprop.cli.train_options import flag_of
from deltaprop.errors import ModelFormatError
from deltaprop.options import DEFAULTS

#: Options that only change how a run is shown or where its checkpoint goes: a resume may change them.
PRESENTATION_OPTIONS = frozenset({"handler", "command", "quiet", "json", "no_plots", "resume",
                                  "checkpoint_dir"})
#: Stored options a resume may change: where the run directory goes.
MOVABLE_OPTIONS = frozenset({"out"})
#: Stored options holding a path: (option, whether the spec may be a keyword like digits or mnist).
PATH_OPTIONS = {"out": False, "data": True, "data_dir": False}
DATA_KEYWORDS = ("digits", "mnist")


def absolute_path(value: str | None, option: str, base: Path | None = None) -> str | None:
    """A path option as stored: absolute (relative ones taken from ``base``, else the current
    folder); a data spec keeps its keyword (digits, mnist) and its ``idx:`` prefix."""
    if value is None:
        return None
    text = value.strip()
    if option == "data" and text.lower() in DATA_KEYWORDS:
        return value
    prefix = ""
    if option == "data" and text.lower().startswith("idx:") and text[4:]:
        prefix, text = text[:4], text[4:]
    path = Path(os.path.expanduser(text))
    if not path.is_absolute() and base is not None:
        path = base / path
    return prefix + os.path.abspath(path)


def absolute_paths(args: argparse.Namespace, base: Path | None = None) -> None:
    """Make the path options of ``args`` absolute, in place (see ``absolute_path``)."""
    for option in PATH_OPTIONS:
        if hasattr(args, option):
            setattr(args, option, absolute_path(getattr(args, option), option, base))


def stored_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of this run that a resume must take again (not how the output is shown)."""
    return {key: value for key, value in vars(args).items() if key not in PRESENTATION_OPTIONS}


def _flag(key: str) -> str:
    return flag_of(key) if key in DEFAULTS else "--" + key.replace("_", "-")


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


def _given_differ(args: argparse.Namespace, defaults: dict[str, Any], stored: dict[str, Any]) -> None:
    for key, value in vars(args).items():
        if key in PRESENTATION_OPTIONS or key in MOVABLE_OPTIONS or key not in stored:
            continue
        if key in PATH_OPTIONS:
            value = absolute_path(value, key)
        if value != defaults.get(key) and value != stored[key]:
            raise ValueError(
                f"{_flag(key)} {value} differs from the checkpointed run's {stored[key]!r}; "
                f"a resumed run keeps its original options: leave {_flag(key)} out"
            )


#: Stored values that are not command-line options but travel with the run.
INTERNAL_OPTIONS = {"keep_checkpoints": bool}


def _checked_stored(stored: dict[str, Any], actions: dict[str, argparse.Action], source: Path) -> None:
    """Every stored option passes the same parser the command line does; else one clear line."""
    for key, value in stored.items():
        where = f"{source / CHECKPOINT_NAME}: stored option {key!r} = {str(value)[:60]!r}"
        if key in INTERNAL_OPTIONS:
            if not isinstance(value, INTERNAL_OPTIONS[key]):
                raise ModelFormatError(f"{where}: expected true or false")
            continue
        action = actions.get(key)
        if action is None:
            raise ModelFormatError(f"{where}: not an option of '{PROG} train'")
        if value is None and action.default is None:
            continue
        _check_stored_value(where, value, action)


def _check_stored_value(where: str, value: Any, action: argparse.Action) -> None:
    if action.nargs == 0 or isinstance(action.default, bool):  # flags: true or false
        if not isinstance(value, bool):
            raise ModelFormatError(f"{where}: expected true or false")
        return
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        text = ",".join(map(str, value)) or "none"
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        raise ModelFormatError(f"{where}: expected a value of {flag_of(action.dest)}")
    try:
        parsed = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
        raise ModelFormatError(f"{where}: {error}") from None
    if parsed != value or (action.choices is not None and value not in action.choices):
        raise ModelFormatError(f"{where}: expected a valid value of {action.option_strings[0]}")


def resumed_arguments(args: argparse.Namespace, defaults: dict[str, Any],
                      actions: dict[str, argparse.Action]) -> argparse.Namespace:
    """The original options of the run checkpointed in ``args.resume``, with this call's output
    options (and ``--out``, when given); any other option given now (not at its value in
    ``defaults``) must agree with the original. The stored options pass ``actions``, the parser's
    own checks, first: a tampered checkpoint is refused with one line naming the option."""
    source = checkpoint_folder(args.resume)
    saved = load_checkpoint(source)
    stored = saved.state["extra"].get("cli")
    if not isinstance(stored, dict) or not isinstance(stored.get("out"), str):
        raise ValueError(f"--resume {args.resume}: the checkpoint was not written by '{PROG} train'; "
                         f"resume it with deltaprop.fit(..., resume=True)")
    _checked_stored(stored, actions, source)
    _given_differ(args, defaults, stored)
    resumed = argparse.Namespace(**{**defaults, **stored})
    absolute_paths(resumed, base=source.parent)
    for key in PRESENTATION_OPTIONS - {"checkpoint_dir"}:
        setattr(resumed, key, getattr(args, key))
    if args.out is not None:
        resumed.out = absolute_path(args.out, "out")
    resumed.resume = str(source)
    resumed.checkpoint_dir = args.checkpoint_dir or str(source)
    resumed.keep_checkpoints = bool(resumed.keep_checkpoints) or args.checkpoint_dir is not None
    return resumed
