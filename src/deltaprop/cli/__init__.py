"""The ``deltaprop`` command line: train, evaluate, predict, gradcheck, info, export, explain,
experiment, report, sweep, bench.

    deltaprop train                       # [64, 30, 10] on the bundled 8x8 digits, a few seconds
    deltaprop train --data mnist --hidden 100 --lmbda 5 --epochs 30
    deltaprop evaluate runs/X/model.safetensors --split test
    deltaprop predict runs/X/model.safetensors digit.png
    deltaprop gradcheck --sizes 64,30,10
    deltaprop info runs/X/model.safetensors
    deltaprop export runs/X/model.safetensors --onnx model.onnx
    deltaprop explain --sizes 3,4,2       # one example through BP1-BP4, every number
    deltaprop experiment vanishing-gradient --data-dir DIR
    deltaprop report runs/X               # runs/X/report.html
    deltaprop sweep space.toml --trials 20
    deltaprop bench --runs A              # in a source checkout: bench/run.py

One module per command, each with ``add_parser(commands)`` and ``run(args) -> int`` (bench: its
``run_suite(arguments)``, before any parsing); ``_common`` holds what they share. Every user error
(a missing or malformed file, a bad option value, an unknown name, a model that does not fit the
data, no network for a download) prints one line, ``deltaprop: error: ...``, on stderr and exits
with status 2; Ctrl-C exits with status 130. Set ``DELTAPROP_DEBUG=1`` to get the traceback instead.
An unknown command, option or choice is refused naming the closest known one ("did you mean 'train'?",
``_common.Parser``, which the suite's own parser is too).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from deltaprop._output import warnings_as_lines
from deltaprop._version import __version__
from deltaprop.cli import (
    bench,
    evaluate,
    experiment,
    explain,
    export,
    gradcheck,
    info,
    predict,
    report,
    sweep,
    train,
)
from deltaprop.cli._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    USER_ERRORS,
    Parser,
    UsageError,
    describe,
    fail,
)

#: The subcommands, in the order ``deltaprop --help`` lists them.
COMMANDS = (train, evaluate, predict, gradcheck, info, export, explain, experiment, report, sweep,
            bench)

__all__ = ["COMMANDS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, one subparser per command module."""
    parser = Parser(
        prog=PROG,
        description="Feedforward networks trained by backpropagation (Nielsen's chapters 1-3 and 5).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["bench"]:  # the suite parses its own options, --help included
        return bench.run_suite(argv[1:])
    args = build_parser().parse_args(argv)
    by_name = {command.__name__.rsplit(".", 1)[-1]: command for command in COMMANDS}
    if args.command is None:
        *names, last = by_name
        raise UsageError(f"choose a command: {', '.join(names)} or {last} (see '{PROG} --help')")
    return by_name[args.command].run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 error, 130 Ctrl-C)."""
    try:
        with warnings_as_lines():  # each warning one 'deltaprop: warning:' line in the CLI's words
            return _dispatch(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exit_:  # --help, --version, a second signal
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except UsageError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        with contextlib.suppress(OSError, ValueError):  # stdout to /dev/null: the flush at exit can't fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except USER_ERRORS as error:
        if os.environ.get("DELTAPROP_DEBUG"):
            raise
        return fail(describe(error))
