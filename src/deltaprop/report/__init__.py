"""Self-contained HTML reports of run directories (issue 12).

``recorder``: the ``fit`` callback that records histograms of w, z and δ during training
(``snapshots.npz``); ``rundata``: what a run directory holds, loaded; ``svg``, ``images`` and
``diagram``: the figures; ``sections_*``: the parts of the page; ``page``: the page itself and
``write_report``.
"""

from deltaprop.report.recorder import SNAPSHOT_FILE, RecordedHistory, Recorder, Snapshots, training_recorder

__all__ = ["SNAPSHOT_FILE", "RecordedHistory", "Recorder", "Snapshots", "training_recorder"]
