"""The results file: one JSON document, rewritten (atomically) after every measurement, so that an
interrupted suite leaves everything measured so far; the targets are recomputed at each write.

Layout: ``suite``, ``command``, ``date``, ``status`` (running, complete, interrupted, failed),
``machine``, ``settings``; ``runs`` (one entry per (run, dtype): the recipe, ``data``, ``threads`` and
``times``, every measurement of each contender in seconds); ``memory``; ``end_to_end``; ``targets``.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
from pathlib import Path
from typing import Any

from runs import E2E_TARGET, MEMORY_TARGET_MB, Run


def cpu_model() -> str:
    """``lscpu``'s model name, else /proc/cpuinfo's, else platform's."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        found = re.search(r"Model name:\s*(.+)", text)
        if found:
            return found.group(1).strip()
    except OSError:
        pass
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        if found:
            return found.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """CPU, cores, library versions and the BLAS libraries numpy and scipy load (threadpoolctl)."""
    import numpy as np
    import scipy.linalg  # noqa: F401  (so that its BLAS is listed too)
    from threadpoolctl import threadpool_info

    blas = sorted({f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                   for i in threadpool_info() if i.get("user_api") == "blas"})
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "scipy": _version("scipy"),
            "torch": _version("torch"), "scikit-learn": _version("scikit-learn"),
            "deltaprop": _version("deltaprop"), "load_average": os.getloadavg()[0]}


def new_report(suite: str, command: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {"suite": suite, "command": command, "date": datetime.date.today().isoformat(),
            "status": "running", "machine": machine(), "settings": settings, "runs": [],
            "memory": [], "end_to_end": None, "targets": []}


def run_entry(run: Run, dtype: str, book_rows: int) -> dict[str, Any]:
    return {"run": run.name, "dtype": dtype, "description": run.describe(), "sizes": list(run.sizes),
            "batch_size": run.batch_size, "rows": run.rows, "threads": run.threads,
            "book_rows": min(book_rows, run.rows) if "book" in run.contenders else None,
            "target": run.target, "data": None, "times": {}}


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items() if values}


def ratio(entry: dict[str, Any], numerator: str, denominator: str) -> float | None:
    m = medians(entry.get("times") or {})
    if numerator in m and m.get(denominator):
        return m[numerator] / m[denominator]
    return None


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value (None while not measured) and whether it is met."""
    found = []

    def add(name: str, value: float | None, limit: float) -> None:
        found.append({"target": name, "measured": value, "limit": limit,
                      "met": None if value is None else value <= limit})

    for entry in report["runs"]:
        add(f"{entry['run']} {entry['dtype']}: deltaprop / PyTorch",
            ratio(entry, "deltaprop", "torch"), entry["target"])
    for entry in report["memory"]:
        add(f"{entry['run']} {entry['dtype']}: MB a fit adds to the peak", entry["added_mb"],
            MEMORY_TARGET_MB)
    if report.get("end_to_end"):
        add("end to end: deltaprop train / PyTorch script",
            ratio(report["end_to_end"], "deltaprop", "torch"), E2E_TARGET)
    return found


def save(report: dict[str, Any], path: Path) -> None:
    """Write ``report`` to ``path`` atomically (a temporary file beside it, then renamed)."""
    report["targets"] = targets(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(temporary, path)
