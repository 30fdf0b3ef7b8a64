"""deltaprop in Jupyter: ``register(shell)`` gives IPython the HTML of deltaprop's objects, and
``show(run_dir)`` a run's report inline.

``register`` adds a ``text/html`` formatter for ``Network``, ``History`` and ``Explanation`` (the
views of ``views`` and ``explain_html``: the classes themselves know nothing of HTML, the model layer
needing only numpy), a one-line ``text/plain`` for the history and the trace, and the live view that
``fit(progress=True)`` shows in a notebook (``live``). ``deltaprop/__init__.py`` calls it when
deltaprop is imported inside IPython.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltaprop.explanation import Explanation
from deltaprop.history import History
from deltaprop.network import Network
from deltaprop.report.explain_html import explanation_html
from deltaprop.report.live import register_live_progress
from deltaprop.report.page import report_page
from deltaprop.report.svg import esc
from deltaprop.report.views import history_html, network_html

REPORT_HEIGHT = 900  # pixels of the frame a report is shown in (the page scrolls inside it)


# -- a run's report --------------------------------------------------------------------------------

@dataclass
class ReportView:
    """The report of a run directory, as Jupyter shows it: the page ``deltaprop report`` writes, in
    a frame (its styles and its slider's script stay inside it). ``page`` is the whole HTML page."""

    path: Path
    page: str

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{esc(self.page)}" title="{esc(f"deltaprop report: {self.path.name}")}" '
                f'style="width: 100%; height: {REPORT_HEIGHT}px; border: 1px solid #ccc;"></iframe>')

    def __repr__(self) -> str:
        return f"ReportView({os.fspath(self.path)!r}, {len(self.page.encode()):,} bytes)"


def show(run_dir: str | os.PathLike[str], with_data: bool = True) -> ReportView:
    """The report of ``run_dir`` (``deltaprop report``'s page, built by the same code), shown inline
    when it is the value of a notebook cell (or given to ``IPython.display.display``).

    Raises FileNotFoundError or ValueError when ``run_dir`` is not a run directory holding a model
    or the page would pass ``MAX_REPORT_BYTES``, ``ModelFormatError`` for a bad model file.
    """
    return ReportView(Path(run_dir), report_page(run_dir, with_data))


# -- IPython ---------------------------------------------------------------------------------------

def register(shell: Any) -> None:
    """Give the IPython ``shell`` the HTML of deltaprop's objects (their text is their one-line
    repr), and ``fit`` the notebook's live view. Calling it again changes nothing."""
    formatters = shell.display_formatter.formatters
    for cls, html in ((Network, network_html), (History, history_html), (Explanation, explanation_html)):
        formatters["text/html"].for_type(cls, html)
    register_live_progress()
