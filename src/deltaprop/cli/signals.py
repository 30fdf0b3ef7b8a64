"""Stopping a training run on SIGINT or SIGTERM: after the current mini-batch, with a checkpoint."""

from __future__ import annotations

import contextlib
import sys

from deltaprop._signals import StopRequest
from deltaprop.cli._common import PROG


class StopOnSignal(StopRequest):
    """SIGINT and SIGTERM ask training to stop after its current mini-batch; a second one stops at
    once, saying so. ``signal_number`` remembers the first, for the exit code (128 + signal).

    A context manager: the previous handlers come back on exit. ``requested`` is the
    ``should_stop`` of ``fit``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._handlers = contextlib.ExitStack()

    def stop_now(self, signal_number: int) -> None:
        print(f"{PROG}: stopped at once; the last checkpoint stays", file=sys.stderr)
        raise SystemExit(128 + signal_number)

    def __enter__(self) -> StopOnSignal:
        self._handlers.enter_context(self.on())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handlers.close()
