"""Self-contained HTML reports of run directories: ``write_report(run_dir, path)``.

``rundata``: what a run directory holds, loaded (the snapshots ``deltaprop.recording`` took during
training among them); ``svg``, ``images`` and ``diagram``: the figures; ``sections_*``: the parts of
the page; ``page``: the page itself and ``write_report``.
"""

from deltaprop.report.page import write_report

__all__ = ["write_report"]
