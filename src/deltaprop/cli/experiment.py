"""``deltaprop experiment``: being built."""

from __future__ import annotations

from typing import Any


def add_parser(commands: Any) -> None:
    """The ``experiment`` subcommand."""
    parser = commands.add_parser("experiment", help="(being built)")
    parser.set_defaults(handler=run)


def run(args: Any) -> int:
    """Not built yet."""
    raise NotImplementedError("experiment")
