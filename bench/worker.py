"""Worker subprocesses: each (run, dtype) is timed, and each memory figure taken, in a fresh process.

``python bench/worker.py KIND SPEC`` (KIND "timing" or "memory", SPEC a JSON object) writes one line
per measurement to stdout, ``@bench {json}``, as soon as it is taken; ``stream`` (the parent's side)
yields those objects, so that the suite can save each one before the next is measured. The thread
count is set in the environment before the child starts (OpenBLAS, OpenMP, MKL) and again, once the
libraries are loaded, with threadpoolctl and ``torch.set_num_threads``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARK = "@bench "
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def stream(kind: str, spec: dict[str, Any], threads: int) -> Iterator[dict[str, Any]]:
    """Run a worker and yield its messages as they come; the child is killed if the consumer stops
    early (an exception, Ctrl-C); RuntimeError with its stderr if it fails."""
    env = dict(os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads)))
    command = [sys.executable, str(Path(__file__).resolve()), kind, json.dumps(spec)]
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        try:
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith(MARK):
                    yield json.loads(line[len(MARK):])
            code = child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if code in (-signal.SIGINT, 128 + signal.SIGINT):  # Ctrl-C reached the child first
            raise KeyboardInterrupt
        if code != 0:
            errors.seek(0)
            raise RuntimeError(f"the {kind} worker failed (exit {code}):\n{errors.read()[-3000:]}")


def _say(message: dict[str, Any]) -> None:
    print(MARK + json.dumps(message), flush=True)


def _limit_threads(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # kept for the life of the process


def _libraries() -> list[str]:
    from threadpoolctl import threadpool_info

    return [f"{i.get('internal_api')} {i.get('version') or ''} ({i.get('num_threads')} threads, "
            f"{Path(i.get('filepath', '')).name})" for i in threadpool_info()]


def _torch_blas() -> str:
    """PyTorch's BLAS and CPU capability, from ``torch.__config__.show()``."""
    import re

    import torch

    text = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([\w.]+)", text)
    blas = re.search(r"BLAS_INFO=(\w+)", text)
    capability = re.search(r"CPU capability usage: (\w+)", text)
    name = f"MKL {mkl.group(1)}" if mkl else (blas.group(1) if blas else "?")
    return f"{name}, {capability.group(1) if capability else '?'} kernels"


def timing(spec: dict[str, Any]) -> None:
    """Time the contenders of one (run, dtype), interleaved in rotating order, ``repeat`` rounds."""
    import contenders
    import datasource
    from runs import run_from_spec

    run, dtype, threads = run_from_spec(spec["run"]), spec["dtype"], spec["threads"]
    names = list(spec["contenders"])
    contenders.fit_function()  # every library is loaded before anything is timed
    if "torch" in names:
        import torch  # noqa: F401
    if "sklearn" in names:
        import sklearn.neural_network  # noqa: F401
    _limit_threads(threads)
    X, y, source = datasource.load_rows(run.rows, dtype, spec["mnist"])
    timers = {
        "deltaprop": lambda: contenders.time_deltaprop(run, X, y, dtype),
        "torch": lambda: contenders.time_torch(run, X, y, dtype, threads),
        "sklearn": lambda: contenders.time_sklearn(run, X, y, dtype),
        "book": lambda: contenders.time_book(run, X, y, dtype, spec["book_rows"]),
    }
    _say({"event": "start", "data": source, "libraries": _libraries(), "load": os.getloadavg()[0],
          "torch_blas": _torch_blas() if "torch" in names else None})
    for r in range(spec["repeat"]):
        for name in names[r % len(names):] + names[:r % len(names)]:
            _say({"event": "time", "repeat": r, "seconds": timers[name]()})


def memory(spec: dict[str, Any]) -> None:
    import memory as measure_memory
    from runs import run_from_spec

    _limit_threads(spec["threads"])
    _say({"event": "memory", **measure_memory.measure(run_from_spec(spec["run"]), spec["dtype"],
                                                      spec["mnist"])})


if __name__ == "__main__":
    {"timing": timing, "memory": memory}[sys.argv[1]](json.loads(sys.argv[2]))
