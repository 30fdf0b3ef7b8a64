"""One stop-on-signal mechanism (deltaprop._signals): the first signal asks, the second stops."""

from __future__ import annotations

import os
import signal

import pytest

from deltaprop._signals import StopRequest
from deltaprop.cli.train_run import StopOnSignal


def test_train_stops_after_the_first_signal_and_at_once_on_the_second(capsys) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopOnSignal().on() as stop:
        assert not stop.requested()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested() and stop.signal_number == signal.SIGTERM
        with pytest.raises(SystemExit) as exit_:
            os.kill(os.getpid(), signal.SIGTERM)
    assert exit_.value.code == 128 + signal.SIGTERM
    assert "stopped at once; the last checkpoint stays" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_a_sweeps_second_signal_interrupts() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest().on(signal.SIGTERM) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
