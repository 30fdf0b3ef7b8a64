"""Stopping a sweep on SIGINT or SIGTERM: the running trials stop after their current mini-batch.

A signal sets the flag of a ``deltaprop._signals.StopRequest``, which ``fit`` reads after every
mini-batch (its ``should_stop``) and the workers read after every trial; the trial then records
itself as failed ("interrupted") from the worker's own code, never from inside a database call. A
second signal stops at once.
"""

from __future__ import annotations

__all__ = ["SweepInterrupted"]


class SweepInterrupted(KeyboardInterrupt):
    """The sweep stopped on a signal; the running trial was recorded as failed."""
