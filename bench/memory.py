"""Peak memory a fit adds to its process, beyond the data and the model (Linux).

Measured in a fresh subprocess: the data are loaded and the network built, a warm-up fit on 200 rows
loads what fit imports lazily, then the process's peak resident set is reset to its current size
(``/proc/self/clear_refs``, "5": VmHWM := VmRSS) and ``fit(net, X, y, epochs=1, ...)`` runs; what it
adds is VmHWM after the fit minus VmRSS before it. Where clear_refs cannot be written, the increase
of ``ru_maxrss`` is reported instead (a lower bound: the peak of loading the data may hide part of
the fit's).
"""

from __future__ import annotations

import gc
import re
import resource
from pathlib import Path
from typing import Any

import contenders
import datasource
from runs import Run

MB = 2**20


def _status_bytes(field: str) -> int:
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    if match is None:
        raise OSError(f"no {field} in /proc/self/status")
    return int(match.group(1)) * 1024


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def measure(run: Run, dtype: str, mnist: str | None) -> dict[str, Any]:
    """{"added_mb", "method", "data_mb", "model_mb", "data"} for one fit(epochs=1) of ``run``."""
    fit = contenders.fit_function()
    X, y, source = datasource.load_rows(run.rows, dtype, mnist)
    warm = contenders.network(run, dtype)
    fit(warm, X[:200], y[:200], epochs=1, batch_size=run.batch_size, eta=run.eta,
        momentum=run.momentum)
    net = contenders.network(run, dtype)
    del warm
    gc.collect()
    if _reset_peak():
        method, before = "VmHWM - VmRSS (clear_refs)", _status_bytes("VmRSS")
    else:
        method, before = "ru_maxrss increase (lower bound)", _max_rss_bytes()
    fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=run.eta, momentum=run.momentum, seed=1)
    peak = _status_bytes("VmHWM") if method.startswith("VmHWM") else _max_rss_bytes()
    model_bytes = sum(w.nbytes + b.nbytes for w, b in zip(net.weights, net.biases, strict=True))
    return {"run": run.name, "dtype": dtype, "rows": run.rows, "added_mb": (peak - before) / MB,
            "method": method, "data_mb": (X.nbytes + y.nbytes) / MB, "model_mb": model_bytes / MB,
            "data": source}
