"""``deltaprop bench ...``: the benchmark suite of a source checkout, ``bench/run.py``.

The suite is not part of the installed package: it lives in the ``bench/`` folder at the root of
the repository. This command finds it next to the ``src/`` folder deltaprop is imported from, loads
it, and hands it every argument after ``bench`` (its ``--help`` lists them).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import deltaprop
from deltaprop.cli._common import EXIT_OK, PROG, UsageError

MODULE_NAME = "deltaprop_bench_run"


def add_parser(commands: Any) -> None:
    """The ``bench`` subcommand, listed in ``deltaprop --help``; ``main`` passes its arguments on
    unparsed."""
    commands.add_parser(
        "bench", help="time a training epoch against PyTorch, scikit-learn and the book's loop",
        description="The benchmark suite of a source checkout (bench/run.py); its options follow "
                    f"(see '{PROG} bench --help').",
        add_help=False,
    )


def script_path() -> Path:
    """Where bench/run.py is in a source checkout: beside the src/ folder deltaprop comes from."""
    return Path(deltaprop.__file__).resolve().parents[2] / "bench" / "run.py"


def run_suite(arguments: Sequence[str]) -> int:
    """Run ``main(arguments)`` of bench/run.py; exit status 2 when there is no source checkout."""
    script = script_path()
    if not script.is_file():
        raise UsageError(
            f"'{PROG} bench' needs a source checkout of deltaprop (its bench/ folder); "
            f"there is no {script}"
        )
    spec = importlib.util.spec_from_file_location(MODULE_NAME, script)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load the benchmark suite {script}")
    sys.path.insert(0, str(script.parent))  # as under ``python bench/run.py``, for the suite's own imports
    try:
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module  # dataclasses and pickling look their module up there
        spec.loader.exec_module(module)
        main = getattr(module, "main", None)
        if not callable(main):
            raise UsageError(f"{script} has no main(argv) function")
        code = main(list(arguments))
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(script.parent))
    return EXIT_OK if code is None else int(code)
