"""``deltaprop report RUN_DIR [-o report.html]``: one self-contained HTML page of a run directory.

The page (``deltaprop.report``) holds the run's configuration, its curves, learning speed and
saturation, histograms of w, z and δ over the epochs, the first layer's weights, the confusion
matrix, the most confidently wrong examples, a diagram of the network and the backpropagation trace
of one example. It is written atomically, by default to ``RUN_DIR/report.html``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from deltaprop._output import plain, safe
from deltaprop.cli._common import EXIT_OK, console, shown
from deltaprop.report.page import REPORT_FILE, write_report
from deltaprop.report.rundata import MODEL_FILE, check_run_directory


def add_parser(commands: Any) -> None:
    """The ``report`` subcommand."""
    parser = commands.add_parser(
        "report", help="write a self-contained HTML report of a run directory",
        description="Write one HTML file (styles, scripts and images inline, no network access) "
                    "describing a run directory of 'deltaprop train' (or a resumed run, or a sweep's "
                    "trial): configuration, curves, learning speed, histograms of w, z and δ, weights, "
                    "confusion matrix, worst errors, a network diagram and one example traced through "
                    "backpropagation.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help=f"a run directory holding {MODEL_FILE}")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help=f"the HTML file to write (default: RUN_DIR/{REPORT_FILE})")
    parser.add_argument("--no-data", action="store_true",
                        help="do not load the run's data (no confusion matrix, examples or trace)")


def run(args: argparse.Namespace) -> int:
    """``deltaprop report``: exit 0, or 2 with one line on stderr when RUN_DIR is not a run."""
    check_run_directory(args.run_dir)  # before the report's own checks of where it goes
    path = write_report(args.run_dir, args.output, with_data=not args.no_data)
    written = f"report written to {safe(shown(path))} ({os.path.getsize(path) / 1e6:.2f} MB)"
    console().print(plain(written, None), soft_wrap=True)
    return EXIT_OK
