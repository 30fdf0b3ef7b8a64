"""Stopping on SIGINT or SIGTERM between two steps: a signal sets a flag that the work reads (``fit``'s
``should_stop``, after every mini-batch), so that it stops where its state is whole; a second signal
stops at once. ``deltaprop train`` and ``deltaprop sweep`` both stop this way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: The signals a stop request handles unless told otherwise.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """The flag a signal sets. ``requested`` is a ``should_stop`` for ``fit``; ``signal_number``
    remembers the first signal (for an exit code of 128 + signal). ``on(...)`` handles the signals
    for a block; a second signal calls ``stop_now`` (by default: raise KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.signal_number: int | None = None

    def requested(self) -> bool:
        """Whether a signal asked to stop."""
        return self.signal_number is not None

    def stop_now(self, signal_number: int) -> None:
        """What the second signal does: stop at once."""
        raise KeyboardInterrupt

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.signal_number is not None:
            self.stop_now(signal_number)
        self.signal_number = signal_number

    @contextlib.contextmanager
    def on(self, *signals: int) -> Iterator[StopRequest]:
        """Handle ``signals`` (default SIGINT and SIGTERM) for the block, the previous handlers
        restored after it; in the main thread only (elsewhere signals cannot be handled, and the
        block runs without)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.signal(number, self._handle) for number in signals or STOP_SIGNALS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
