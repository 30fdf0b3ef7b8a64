"""Training watched live in a Jupyter notebook: ``fit(..., progress=True)`` shows one display,
updated in place (``IPython.display.display(..., display_id=True)``, then ``update``): a bar over the
run's mini-batches, the table of the last epochs and the cost, accuracy and learning-speed curves.

``register_live_progress`` adds the view's maker to ``deltaprop.trainer.LIVE_PROGRESS``; the maker
gives a view only inside a Jupyter kernel (``in_notebook``), so that ``progress=True`` in a terminal
IPython, or in a script, keeps the terminal's bar. The figures are redrawn once per epoch; the bar at
most every ``REDRAW_SECONDS``, so that a fast run does not flood the notebook with messages.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from deltaprop.report.svg import esc, num
from deltaprop.report.views import SPLITS, history_charts, view
from deltaprop.trainer import LIVE_PROGRESS, LiveProgress

REDRAW_SECONDS = 0.25
TABLE_ROWS = 10  # the last epochs shown in the table (the curves show them all)
MEASURES = tuple(f"{split}_{measure}" for split in SPLITS for measure in ("cost", "accuracy"))


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel: IPython's shell is a ``ZMQInteractiveShell`` (or
    was started by ``IPKernelApp``), the standard test."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and (type(shell).__name__ == "ZMQInteractiveShell"
                                  or "IPKernelApp" in getattr(shell, "config", {}))


def epoch_table(records: list[dict[str, Any]], rows: int = TABLE_ROWS) -> str:
    """The last ``rows`` records as an HTML table: epoch, seconds, η and each cost and accuracy
    measured."""
    measured = [key for key in MEASURES if any(r.get(key) is not None for r in records)]
    head = "".join(f"<th>{esc(key)}</th>" for key in ("epoch", "seconds", "η", *measured))
    body = "".join(
        f"<tr><td>{record.get('epoch')}</td><td>{num(record.get('seconds'), 3)}</td>"
        f"<td>{num(record.get('eta'))}</td>" + "".join(f"<td>{num(record.get(key))}</td>" for key in measured)
        + "</tr>" for record in records[-rows:])
    earlier = len(records) - rows
    note = f'<p class="note">The {earlier} epochs before are in the curves.</p>' if earlier > 0 else ""
    return f'<table class="grid"><tr>{head}</tr>{body}</table>{note}'


class LiveTraining(LiveProgress):
    """The live view of one run of ``epochs`` epochs (see the module docstring).

    Attributes:
        records: the epochs' records so far.
        done, total: mini-batches done and to run (set by ``begin``).
        updates: how many times the display was drawn.
    """

    def __init__(self, epochs: int, redraw_seconds: float = REDRAW_SECONDS) -> None:
        self.epochs, self.redraw_seconds = epochs, redraw_seconds
        self.records: list[dict[str, Any]] = []
        self.done = self.total = self.updates = 0
        self.started = self.drawn = 0.0
        self.figures = ""  # the table and the curves of the records so far
        self.ended = False
        self.handle: Any = None

    def begin(self, total: int, batches_per_epoch: int) -> None:
        from IPython.display import display

        self.total, self.started = total, time.perf_counter()
        self.handle = display(self.bundle(), raw=True, display_id=True)
        self.drawn, self.updates = self.started, 1

    def step(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if now - self.drawn >= self.redraw_seconds:
            self._draw(now)

    def epoch_done(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))
        self.figures = epoch_table(self.records) + (
            f'<div class="row charts">{"".join(history_charts(self.records))}</div>')
        self._draw(time.perf_counter())

    def end(self) -> None:
        self.ended = True
        self._draw(time.perf_counter())

    def _draw(self, now: float) -> None:
        self.drawn = now
        if self.handle is not None:
            self.handle.update(self.bundle(), raw=True)
            self.updates += 1

    def status(self) -> str:
        """One line: where training is (or how it ended) and the time it has taken."""
        seconds = time.perf_counter() - self.started
        epoch = self.records[-1]["epoch"] if self.records else 0
        if self.ended:
            how = "done" if self.done >= self.total else "stopped"
            return f"{how}: {len(self.records)} epochs, {self.done} mini-batches in {seconds:.1f} s"
        return (f"training: epoch {epoch} of {self.epochs} done, mini-batch {self.done} of {self.total}, "
                f"{seconds:.1f} s")

    def bundle(self) -> dict[str, str]:
        """The display's ``text/html`` (bar, table, curves) and ``text/plain`` (the status line)."""
        status = self.status()
        bar = (f'<p><progress value="{self.done}" max="{max(self.total, 1)}" style="width: 360px">'
               f"</progress> {esc(status)}</p>")
        return {"text/html": view(bar + self.figures), "text/plain": status}


def notebook_progress(epochs: int) -> LiveTraining | None:
    """A live view for a run of ``epochs`` epochs inside a Jupyter kernel, else None."""
    return LiveTraining(epochs) if in_notebook() else None


def register_live_progress() -> None:
    """Let ``fit(progress=True)`` show ``LiveTraining`` in a notebook (once, however often called)."""
    if notebook_progress not in LIVE_PROGRESS:
        LIVE_PROGRESS.append(notebook_progress)
