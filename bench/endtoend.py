"""End to end: ``deltaprop train`` as a user types it against a PyTorch script doing the same.

Both are subprocesses timed from start to exit (interpreter start, imports, reading MNIST, one
epoch, validation and test evaluated, the run written to a temporary folder), in alternating order,
with the same thread count in the environment. Without MNIST, random IDX files of MNIST's shape are
written to the temporary folder and both read those.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasource
from runs import E2E_OPTIONS
from worker import THREAD_VARIABLES

HERE = Path(__file__).resolve().parent


def deltaprop_command() -> list[str]:
    """The ``deltaprop`` console script beside this interpreter, else ``python -m deltaprop``."""
    script = Path(sys.executable).parent / "deltaprop"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "deltaprop"]


def commands(mnist: str, out: Path, threads: int) -> dict[str, list[str]]:
    return {
        "deltaprop": [*deltaprop_command(), "train", "--data", "mnist", "--data-dir", mnist,
                      *E2E_OPTIONS, "--no-plots", "--quiet", "--out", str(out / "deltaprop")],
        "torch": [sys.executable, str(HERE / "torch_train.py"), mnist, str(out / "torch"),
                  "--threads", str(threads)],
    }


def _timed(command: list[str], threads: int) -> float:
    env = dict(os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads)))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode in (-signal.SIGINT, 128 + signal.SIGINT):  # Ctrl-C reached it first
        raise KeyboardInterrupt
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n"
                           f"{(done.stderr or done.stdout)[-3000:]}")
    return seconds


def measure(mnist: str | None, threads: int, repeat: int) -> Iterator[dict[str, Any]]:
    """Yield {"contender", "seconds", "repeat", "data", "command"} for each subprocess run."""
    with tempfile.TemporaryDirectory(prefix="deltaprop-bench-") as tmp:
        folder, data = mnist, "MNIST"
        if folder is None:
            folder, data = str(Path(tmp) / "random-mnist"), "random"
            Path(folder).mkdir()
            datasource.write_random_mnist(Path(folder))
        names = ["deltaprop", "torch"]
        for r in range(repeat):
            for name in names[r % 2:] + names[:r % 2]:
                out = Path(tmp) / f"round-{r}"
                command = commands(folder, out, threads)[name]
                yield {"contender": name, "seconds": _timed(command, threads), "repeat": r,
                       "data": data, "command": " ".join(command)}
