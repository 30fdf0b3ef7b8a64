"""Self-contained HTML reports of run directories: ``write_report(run_dir, path)``; in a notebook,
``show(run_dir)`` shows the same page inline.

``rundata``: what a run directory holds, loaded (the snapshots ``deltaprop.recording`` took during
training among them); ``svg``, ``images`` and ``diagram``: the figures; ``sections_*``: the parts of
the page; ``page``: the page itself and ``write_report``. In Jupyter: ``views`` and ``explain_html``
(deltaprop's objects as HTML), ``live`` (training watched live), ``notebook`` (``show`` and the
IPython formatters).
"""

from deltaprop.report.notebook import show
from deltaprop.report.page import write_report

__all__ = ["show", "write_report"]
