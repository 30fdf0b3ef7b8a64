"""Learning-rate schedules: how η changes between epochs, and what a stall of training does.

``SCHEDULES`` holds ``fit``'s η schedule ('halve'; the option ``schedule`` is its patience) and
scikit-learn's ``learning_rate`` schedules (``deltaprop.sklearn``). A schedule may set the optimizer's
``eta`` after each epoch (``after_epoch``); when training stalls, by its loop's rule, it lowers η or
says why training stops (``stalled``). It keeps no state (η is the optimizer's, saved with it), so a
resumed run continues its schedule exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from deltaprop.registry import Registry

MIN_ETA_FRACTION = 1 / 128
"""'halve' stops once η has fallen to η0/128."""
ADAPTIVE_DIVISOR = 5.0
ADAPTIVE_MIN_ETA = 1e-6


@dataclass
class Schedule:
    """'constant' (scikit-learn's default, and Adam's): η stays, and a stall stops training.

    The base class of the others. ``eta0``: η0 > 0; ``optimizer``: any object with a mutable
    ``eta`` (an Optimizer)."""

    eta0: float
    name: ClassVar[str] = "constant"

    def after_epoch(self, optimizer: Any, samples_seen: int) -> None:
        """Set ``optimizer.eta`` for the next epoch; ``samples_seen``: rows trained on so far."""

    def stalled(self, optimizer: Any) -> str | None:
        """Training has stalled: lower ``optimizer.eta`` and return None, or return why it stops."""
        return "Stopping."


class Halve(Schedule):
    """fit's: a stall halves η; training stops once η has fallen to η0/128."""

    name = "halve"

    def stalled(self, optimizer: Any) -> str | None:
        optimizer.eta /= 2
        if optimizer.eta <= self.eta0 * MIN_ETA_FRACTION * (1 + 1e-12):
            return "schedule: eta fell to eta0/128"
        return None


@dataclass
class InvScaling(Schedule):
    """scikit-learn's 'invscaling': η = η0 / (t + 1)^power_t after each epoch (t: rows seen so far,
    ``power_t`` >= 0); a stall stops."""

    power_t: float = 0.5
    name: ClassVar[str] = "invscaling"

    def after_epoch(self, optimizer: Any, samples_seen: int) -> None:
        optimizer.eta = float(self.eta0) / (samples_seen + 1) ** self.power_t


class Adaptive(Schedule):
    """scikit-learn's 'adaptive': a stall divides η by 5, or stops training when η <= 1e-6."""

    name = "adaptive"

    def stalled(self, optimizer: Any) -> str | None:
        if optimizer.eta <= ADAPTIVE_MIN_ETA:
            return "Learning rate too small. Stopping."
        optimizer.eta /= ADAPTIVE_DIVISOR
        return None


SCHEDULES: Registry[type[Schedule]] = Registry("schedule")
"""Schedule classes by name (``SCHEDULES.register(name, cls)`` adds one)."""
for _schedule in (Halve, Schedule, InvScaling, Adaptive):
    SCHEDULES.register(_schedule.name, _schedule)
