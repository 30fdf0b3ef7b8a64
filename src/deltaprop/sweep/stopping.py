"""Stopping a sweep on SIGINT or SIGTERM: the running trials stop after their current mini-batch.

A signal sets a flag that ``fit`` reads after every mini-batch (its ``should_stop``) and the
workers read after every trial; the trial then records itself as failed ("interrupted") from the
worker's own code, never from inside a database call. A second signal stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["StopRequest", "SweepInterrupted"]


class SweepInterrupted(KeyboardInterrupt):
    """The sweep stopped on a signal; the running trial was recorded as failed."""


class StopRequest:
    """The flag a signal sets; ``requested`` is the ``should_stop`` of the trials' ``fit``."""

    def __init__(self) -> None:
        self.signal_number: int | None = None

    def requested(self) -> bool:
        """Whether a signal asked to stop."""
        return self.signal_number is not None

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.signal_number is not None:
            raise KeyboardInterrupt  # the second signal: at once
        self.signal_number = signal_number

    @contextlib.contextmanager
    def on(self, *signals: int) -> Iterator[StopRequest]:
        """Handle ``signals`` (default SIGINT and SIGTERM) for the block, in the main thread only
        (elsewhere signals cannot be handled, and the block runs without)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        numbers = signals or (signal.SIGINT, signal.SIGTERM)
        previous = {number: signal.signal(number, self._handle) for number in numbers}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
