"""Stopping a training run on SIGINT or SIGTERM: after the current mini-batch, with a checkpoint."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from deltaprop.cli._common import PROG


class StopOnSignal:
    """SIGINT and SIGTERM ask training to stop after its current mini-batch; a second one stops at
    once. ``signal_number`` remembers the first, for the exit code (128 + signal).

    A context manager: the previous handlers come back on exit. ``requested`` is the
    ``should_stop`` of ``fit``.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self.previous: dict[int, object] = {}

    def requested(self) -> bool:
        """Whether a signal asked to stop."""
        return self.signal_number is not None

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.signal_number is not None:
            print(f"{PROG}: stopped at once; the last checkpoint stays", file=sys.stderr)
            raise SystemExit(128 + signal_number)
        self.signal_number = signal_number

    def __enter__(self) -> StopOnSignal:
        self.previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
