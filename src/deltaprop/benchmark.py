"""Benchmarks: one training epoch of deltaprop against PyTorch, scikit-learn and the book's loop.

``python bench/run.py`` (or ``run_benchmarks``/``main`` here, for a ``deltaprop bench`` command)
times one epoch of mini-batch SGD, sigmoid layers, quadratic cost, η = 3.0, for

    A  [784, 30, 10]          batch 10,  50,000 rows    deltaprop, PyTorch, scikit-learn, book loop
    B  [784, 100, 10]         batch 10,  50,000 rows    deltaprop, PyTorch, scikit-learn, book loop
    C  [784, 30, 10]          batch 128, 50,000 rows    deltaprop, PyTorch
    D  [784, 1024, 1024, 10]  batch 256, 20,000 rows    deltaprop, PyTorch

in float64 and float32, on MNIST's training images when they are found (``--mnist DIR``, default
``$DELTAPROP_MNIST`` or /work/shared/data/mnist; IDX files, read in place, never copied) and on
random data of that shape otherwise. What is timed, per contender:

- deltaprop: ``fit(epochs=1, shuffle=True)``; the time is the history record's ``seconds``, which
  covers the epoch's training loop (its shuffled gather included) and not fit's input checks or its
  per-epoch monitoring (train cost/accuracy, saturation). ``readable`` is the same with the fast
  path (deltaprop._fast) switched off: ``Network.gradient`` + ``SGD.step`` per mini-batch.
- PyTorch: nn.Linear + nn.Sigmoid layers holding deltaprop's initial parameters, loss
  ½‖a − y‖² summed over outputs and averaged over the batch, torch.optim.SGD (no momentum), one
  randperm gather per epoch, the same batch size and dtype, ``torch.set_num_threads(threads)``.
- scikit-learn: ``MLPClassifier(solver="sgd", momentum=0, nesterovs_momentum=False,
  activation="logistic", alpha=0, max_iter=1)``; the time of ``fit``. Its output layer is softmax
  with log-loss (it has no quadratic cost for classifiers); ConvergenceWarning is silenced.
- book: ``deltaprop.reference.sgd_epoch``, one example at a time, on the first 5,000 rows, the time
  multiplied by rows / 5,000 (it is linear in the rows); marked "×10" in the table.

Each (run, dtype) runs in a fresh subprocess that times the contenders interleaved, ``repeat`` rounds
in rotating order, and keeps the median of each; ratios are of medians taken side by side. The same
subprocess measures the GEMM peak (best of several square ``np.matmul`` of order 2048) so that
deltaprop's achieved GFLOP/s (6 × parameters × rows / seconds) is compared with a peak of the same
moment. Peak memory is measured in another fresh subprocess per (run, dtype): the peak resident set
(VmHWM, reset through /proc/self/clear_refs just before ``fit``) above the resident set with the
data loaded, against the budget dataset + 2 × model + 50 MB.

``threads`` (default: numpy's BLAS thread count) is applied to every BLAS library (threadpoolctl)
and to PyTorch alike.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ETA = 3.0
REFERENCE_ROWS = 5_000
MNIST_DIRS = (os.environ.get("DELTAPROP_MNIST", ""), "/work/shared/data/mnist")
CONTENDERS = ("deltaprop", "readable", "torch", "sklearn", "book")


@dataclass(frozen=True)
class Run:
    """One benchmark configuration."""

    name: str
    sizes: tuple[int, ...]
    batch_size: int
    rows: int
    contenders: tuple[str, ...]

    @property
    def parameters(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))


RUNS: dict[str, Run] = {
    "A": Run("A", (784, 30, 10), 10, 50_000, CONTENDERS),
    "B": Run("B", (784, 100, 10), 10, 50_000, CONTENDERS),
    "C": Run("C", (784, 30, 10), 128, 50_000, ("deltaprop", "readable", "torch")),
    "D": Run("D", (784, 1024, 1024, 10), 256, 20_000, ("deltaprop", "readable", "torch")),
}


# -- data -----------------------------------------------------------------------------------------


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _mnist_file(directory: str, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        path = Path(directory) / name
        if directory and path.is_file():
            return path
    return None


def mnist_dir(explicit: str | None = None) -> str | None:
    """The first directory holding MNIST's IDX files, or None."""
    for directory in ((explicit,) if explicit else MNIST_DIRS):
        if directory and _mnist_file(directory, "train-images-idx3-ubyte"):
            return directory
    return None


def load_data(
    rows: int, dtype: str, mnist: str | None, test: bool = False
) -> tuple[np.ndarray, np.ndarray, str]:
    """(X (rows, 784) in dtype scaled to [0, 1], labels (rows,), source): MNIST's first training
    rows (or its test rows), or random data of the same shape when MNIST is not there."""
    if mnist is not None:
        stem = "t10k" if test else "train"
        images = _read_idx(_mnist_file(mnist, f"{stem}-images-idx3-ubyte"))  # type: ignore[arg-type]
        labels = _read_idx(_mnist_file(mnist, f"{stem}-labels-idx1-ubyte"))  # type: ignore[arg-type]
        X = images[:rows].reshape(-1, 784).astype(dtype)
        X /= 255
        return X, labels[:rows].astype(np.int64), "MNIST"
    rng = np.random.default_rng(12345 + test)
    X = rng.random((rows, 784), dtype=np.float64 if dtype == "float64" else np.float32)
    return X, rng.integers(0, 10, rows), "random"


# -- the contenders: each returns the seconds of one epoch ----------------------------------------


def _time_deltaprop(run: Run, X: np.ndarray, y: np.ndarray, dtype: str, fast: bool) -> float:
    from deltaprop import Network, _fast
    from deltaprop.training import fit

    previous = _fast.enabled
    _fast.enabled = fast
    try:
        net = Network(list(run.sizes), seed=0, dtype=dtype)
        history = fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=ETA, seed=1)
    finally:
        _fast.enabled = previous
    return float(history["seconds"][0])


def _time_torch(run: Run, X: np.ndarray, y: np.ndarray, dtype: str, threads: int) -> float:
    import torch

    from deltaprop import Network

    torch.set_num_threads(threads)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = Network(list(run.sizes), seed=0, dtype=dtype)  # the same initial parameters
    layers: list[torch.nn.Module] = []
    for w, b in zip(net.weights, net.biases, strict=True):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=ETA, momentum=0.0)
    inputs = torch.from_numpy(X)
    targets = torch.nn.functional.one_hot(torch.from_numpy(y), run.sizes[-1]).to(tdtype)
    generator = torch.Generator().manual_seed(1)
    k = run.batch_size
    started = time.perf_counter()
    order = torch.randperm(inputs.shape[0], generator=generator)
    inputs_shuffled, targets_shuffled = inputs[order], targets[order]
    for start in range(0, inputs.shape[0], k):
        xb, yb = inputs_shuffled[start:start + k], targets_shuffled[start:start + k]
        optimizer.zero_grad(set_to_none=True)
        loss = 0.5 * ((model(xb) - yb) ** 2).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def _time_sklearn(run: Run, X: np.ndarray, y: np.ndarray, dtype: str) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=run.sizes[1:-1], activation="logistic", solver="sgd", momentum=0.0,
        nesterovs_momentum=False, learning_rate_init=ETA, batch_size=run.batch_size, max_iter=1,
        alpha=0.0, shuffle=True, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # η = 3 may overflow its log-loss
        started = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - started


def _time_book(run: Run, X: np.ndarray, y: np.ndarray, dtype: str) -> float:
    from deltaprop import Network, reference

    rows = min(REFERENCE_ROWS, X.shape[0])
    net = Network(list(run.sizes), seed=0, dtype=dtype)
    Y = np.eye(run.sizes[-1], dtype=dtype)[y[:rows]]
    started = time.perf_counter()
    reference.sgd_epoch(net, X[:rows], Y, run.batch_size, ETA)
    return (time.perf_counter() - started) * X.shape[0] / rows


def gemm_peak(dtype: str, n: int = 2048, repeat: int = 4) -> float:
    """GFLOP/s of the best of ``repeat`` square products of order n with np.matmul."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.matmul(a, b)  # warm-up
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return 2.0 * n**3 / best / 1e9


def _gather_seconds(X: np.ndarray, mode: str) -> float:
    """One shuffled gather of X into a preallocated buffer as _Trainer._epoch_order does it
    (np.take with out=; mode 'raise' buffers the whole result in a temporary)."""
    out = np.empty_like(X)
    out[...] = 0  # touched, as after the first epoch
    order = np.random.default_rng(0).permutation(X.shape[0])
    started = time.perf_counter()
    np.take(X, order, axis=0, out=out, mode=mode)  # type: ignore[call-overload]
    return time.perf_counter() - started


# -- worker subprocesses --------------------------------------------------------------------------


def _limit_threads(threads: int) -> Any:
    from threadpoolctl import threadpool_limits

    import deltaprop._fast  # noqa: F401  (loads scipy's BLAS, so that the limit reaches it)

    return threadpool_limits(limits=threads, user_api="blas")


def _timing_worker(spec: dict[str, Any]) -> dict[str, Any]:
    run = RUNS[spec["run"]]
    dtype, threads, repeat = spec["dtype"], spec["threads"], spec["repeat"]
    contenders = [c for c in run.contenders if c in spec["contenders"]]
    limiter = _limit_threads(threads)
    X, y, source = load_data(run.rows, dtype, spec["mnist"])
    timers = {
        "deltaprop": lambda: _time_deltaprop(run, X, y, dtype, fast=True),
        "readable": lambda: _time_deltaprop(run, X, y, dtype, fast=False),
        "torch": lambda: _time_torch(run, X, y, dtype, threads),
        "sklearn": lambda: _time_sklearn(run, X, y, dtype),
        "book": lambda: _time_book(run, X, y, dtype),
    }
    if "torch" in contenders:
        import torch  # noqa: F401  (imported before timing anything, for every contender alike)
    peaks = [gemm_peak(dtype)]
    times: dict[str, list[float]] = {c: [] for c in contenders}
    for r in range(repeat):
        rotated = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for contender in rotated:
            times[contender].append(timers[contender]())
    peaks.append(gemm_peak(dtype))
    gather = {mode: _gather_seconds(X, mode) for mode in ("raise", "clip")}
    limiter.restore_original_limits()
    return {"times": times, "gemm_peak_gflops": max(peaks), "data": source,
            "gather_seconds": gather, "load": os.getloadavg()[0]}


def _vm_hwm_bytes() -> int:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) * 1024 if match else 0


def _vm_rss_bytes() -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) * 1024 if match else 0


def _memory_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Peak memory of fit(epochs=1) above the memory with the data loaded (Linux /proc)."""
    import tracemalloc

    from deltaprop import Network
    from deltaprop.training import fit

    run = RUNS[spec["run"]]
    dtype = spec["dtype"]
    limiter = _limit_threads(spec["threads"])
    X, y, source = load_data(run.rows, dtype, spec["mnist"])
    net = Network(list(run.sizes), seed=0, dtype=dtype)
    fit(net, X[:200], y[:200], epochs=1, batch_size=run.batch_size, eta=ETA)  # warm the libraries
    net = Network(list(run.sizes), seed=0, dtype=dtype)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        resettable = True
    except OSError:
        resettable = False
    before = _vm_rss_bytes()
    fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=ETA, seed=1)
    peak_rss = _vm_hwm_bytes() - before if resettable else None
    tracemalloc.start()
    net = Network(list(run.sizes), seed=0, dtype=dtype)
    fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=ETA, seed=1)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    limiter.restore_original_limits()
    itemsize = np.dtype(dtype).itemsize
    dataset = X.nbytes + run.rows * run.sizes[-1] * itemsize  # inputs and one-hot targets
    model = run.parameters * itemsize
    return {"fit_peak_rss_bytes": peak_rss, "fit_traced_peak_bytes": traced_peak,
            "dataset_bytes": dataset, "model_bytes": model,
            "budget_bytes": dataset + 2 * model + 50 * 2**20, "data": source}


def _book_run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The book's run: [784, 30, 10], 30 epochs, batch 10, η = 3, test set evaluated every epoch."""
    from deltaprop import Network
    from deltaprop.training import fit

    limiter = _limit_threads(spec["threads"])
    epochs = spec.get("epochs", 30)
    X, y, source = load_data(50_000, spec["dtype"], spec["mnist"])
    X_test, y_test, _ = load_data(10_000, spec["dtype"], spec["mnist"], test=True)
    net = Network([784, 30, 10], seed=0, dtype=spec["dtype"])
    started = time.perf_counter()
    history = fit(net, X, y, epochs=epochs, batch_size=10, eta=ETA, seed=1,
                  test_data=(X_test, y_test))
    wall = time.perf_counter() - started
    limiter.restore_original_limits()
    return {"wall_seconds": wall, "epoch_seconds": history["seconds"], "epochs": epochs,
            "test_accuracy": history["test_accuracy"][-1], "data": source}


WORKERS = {"timing": _timing_worker, "memory": _memory_worker, "book_run": _book_run_worker}


def _in_subprocess(kind: str, spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    command = [sys.executable, "-m", "deltaprop.benchmark", "--worker", kind, json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {kind} {spec} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the suite ------------------------------------------------------------------------------------


@dataclass
class Result:
    """The measurements of one run in one dtype (seconds are medians over the repeats)."""

    run: str
    dtype: str
    sizes: tuple[int, ...]
    batch_size: int
    rows: int
    parameters: int
    data: str
    seconds: dict[str, float]
    all_seconds: dict[str, list[float]]
    gemm_peak_gflops: float
    gather_seconds: dict[str, float]
    load_average: float
    memory: dict[str, Any] | None = None
    ratios: dict[str, float] = field(default_factory=dict)

    @property
    def gflops(self) -> float:
        return 6.0 * self.parameters * self.rows / self.seconds["deltaprop"] / 1e9


def _ratios(seconds: dict[str, float]) -> dict[str, float]:
    ours = seconds.get("deltaprop")
    if not ours:
        return {}
    return {name: ours / theirs for name, theirs in seconds.items() if name != "deltaprop"}


def run_benchmarks(
    runs: list[str] | None = None,
    dtypes: list[str] | None = None,
    repeat: int = 3,
    threads: int | None = None,
    contenders: list[str] | None = None,
    memory: bool = True,
    book_run: bool = True,
    mnist: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Run the suite; returns a JSON-ready dict (machine, settings, results, book run, targets)."""
    runs = runs or list(RUNS)
    dtypes = dtypes or ["float64", "float32"]
    contenders = contenders or list(CONTENDERS)
    threads = threads or blas_threads()
    mnist = mnist_dir(mnist)
    say = progress or (lambda message: None)
    results: list[Result] = []
    for name in runs:
        run = RUNS[name]
        for dtype in dtypes:
            say(f"run {name} {dtype}: timing {', '.join(c for c in run.contenders if c in contenders)}")
            spec = {"run": name, "dtype": dtype, "threads": threads, "repeat": repeat,
                    "contenders": contenders, "mnist": mnist}
            measured = _in_subprocess("timing", spec)
            seconds = {c: statistics.median(v) for c, v in measured["times"].items()}
            result = Result(
                name, dtype, run.sizes, run.batch_size, run.rows, run.parameters,
                measured["data"], seconds, measured["times"], measured["gemm_peak_gflops"],
                measured["gather_seconds"], measured["load"], ratios=_ratios(seconds),
            )
            if memory:
                say(f"run {name} {dtype}: memory")
                result.memory = _in_subprocess("memory", spec)
            results.append(result)
    book = None
    if book_run:
        say("the book's run: A, 30 epochs, test set every epoch")
        book = _in_subprocess("book_run", {"dtype": "float64", "threads": threads, "mnist": mnist})
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "threads": threads,
        "repeat": repeat,
        "eta": ETA,
        "results": [asdict(r) | {"gflops": r.gflops} for r in results],
        "book_run": book,
    }
    report["targets"] = check_targets(report)
    return report


def blas_threads() -> int:
    """numpy's BLAS thread count."""
    try:
        from threadpoolctl import threadpool_info

        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        return max(counts) if counts else os.cpu_count() or 1
    except ImportError:  # pragma: no cover
        return os.cpu_count() or 1


def machine() -> dict[str, Any]:
    """CPU model, cores, numpy and its BLAS, library versions."""
    model = platform.processor()
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        found = re.search(r"Model name:\s*(.+)", text)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
                            "numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
            f"{i.get('num_threads')} threads) {Path(i.get('filepath', '')).name}"
            for i in threadpool_info() if i.get("user_api") == "blas"
        ]
    except ImportError:  # pragma: no cover
        pass
    for module in ("torch", "sklearn", "scipy"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    return info


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, at_most: bool, unit: str = "") -> None:
        if value is None:
            return
        met = value <= limit if at_most else value >= limit
        targets.append({"target": name, "measured": value, "limit": limit,
                        "at_most": at_most, "unit": unit, "met": met})

    for r in report["results"]:
        tag, s = f"{r['run']} {r['dtype']}", r["seconds"]
        ours = s.get("deltaprop")
        if ours is None:
            continue
        if r["run"] in ("A", "B"):
            add(f"{tag}: deltaprop / PyTorch", ours / s["torch"] if "torch" in s else None, 0.15, True)
            add(f"{tag}: deltaprop / scikit-learn", ours / s["sklearn"] if "sklearn" in s else None,
                0.05, True)
            add(f"{tag}: book loop / deltaprop", s["book"] / ours if "book" in s else None, 20.0,
                False, "×")
        if r["run"] == "C":
            add(f"{tag}: deltaprop / PyTorch", ours / s["torch"] if "torch" in s else None, 0.5, True)
        if r["run"] == "D":
            share = r["gflops"] / r["gemm_peak_gflops"]
            add(f"{tag}: share of GEMM peak", share, 0.8 if r["dtype"] == "float64" else 0.7, False)
            add(f"{tag}: deltaprop / PyTorch", ours / s["torch"] if "torch" in s else None, 1.0, True)
        memory = r.get("memory")
        if memory and memory.get("fit_peak_rss_bytes") is not None:
            add(f"{tag}: fit peak memory / budget",
                memory["fit_peak_rss_bytes"] / memory["budget_bytes"], 1.0, True)
    book = report.get("book_run")
    if book:
        add("book's run (A, 30 epochs, test set): wall seconds", book["wall_seconds"], 10.0, True,
            "s")
    return targets


# -- output ---------------------------------------------------------------------------------------


def _fmt(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.3f}"


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """Rich tables: seconds and ratios, GFLOP/s and memory, then the targets."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"One training epoch, seconds (median of {report['repeat']}), "
                        f"{report['threads']} BLAS/torch threads")
    for column in ("run", "dtype", "deltaprop", "readable", "PyTorch", "sklearn", "book ×10",
                   "dp/PyTorch", "dp/sklearn", "book/dp", "GFLOP/s", "% peak", "fit mem / budget"):
        table.add_column(column, justify="right")
    for r in report["results"]:
        s = r["seconds"]
        ours = s.get("deltaprop")
        share = f"{100 * r['gflops'] / r['gemm_peak_gflops']:.0f}% of {r['gemm_peak_gflops']:.0f}"
        memory = r.get("memory") or {}
        peak = memory.get("fit_peak_rss_bytes")
        mem = "" if peak is None else (
            f"{peak / 2**20:.0f} / {memory['budget_bytes'] / 2**20:.0f} MB")
        table.add_row(
            r["run"], r["dtype"], _fmt(ours), _fmt(s.get("readable")), _fmt(s.get("torch")),
            _fmt(s.get("sklearn")), _fmt(s.get("book")),
            f"{ours / s['torch']:.3f}" if ours and "torch" in s else "",
            f"{ours / s['sklearn']:.3f}" if ours and "sklearn" in s else "",
            f"{s['book'] / ours:.1f}×" if ours and "book" in s else "",
            f"{r['gflops']:.1f}", share, mem,
        )
    console.print(table)
    gathers = Table(title="The epoch's shuffled gather (np.take with out=): mode='raise' (as fit "
                          "does it) vs 'clip'")
    for column in ("run", "dtype", "raise s", "clip s", "share of deltaprop's epoch"):
        gathers.add_column(column, justify="right")
    for r in report["results"]:
        g = r["gather_seconds"]
        ours = r["seconds"].get("deltaprop")
        gathers.add_row(r["run"], r["dtype"], f"{g['raise']:.3f}", f"{g['clip']:.3f}",
                        f"{100 * g['raise'] / ours:.0f}%" if ours else "")
    console.print(gathers)
    book = report.get("book_run")
    if book:
        console.print(
            f"The book's run (A, {book['epochs']} epochs, {book['data']}, test set each epoch): "
            f"{book['wall_seconds']:.1f} s wall, epochs {min(book['epoch_seconds']):.2f}-"
            f"{max(book['epoch_seconds']):.2f} s, test accuracy {book['test_accuracy']:.4f}")
    targets = Table(title="Targets")
    for column in ("target", "measured", "limit", "met"):
        targets.add_column(column)
    for t in report["targets"]:
        sign = "≤" if t["at_most"] else "≥"
        targets.add_row(t["target"], f"{t['measured']:.3f}{t['unit']}", f"{sign} {t['limit']}",
                        "[green]yes[/]" if t["met"] else "[red]no[/]")
    console.print(targets)
    m = report["machine"]
    console.print(f"{m['cpu']}, {m['cores']} cores; numpy {m['numpy']}, BLAS {m.get('blas')}; "
                  f"torch {m['torch']}, scikit-learn {m['sklearn']}; data: "
                  f"{report['results'][0]['data'] if report['results'] else '-'}")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python bench/run.py [--runs A,B] [--dtype float64] [--json out.json]``."""
    parser = argparse.ArgumentParser(prog="deltaprop bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=",".join(RUNS), help="runs to time, e.g. A,B (A-D)")
    parser.add_argument("--dtype", default="float64,float32", help="float64, float32 or both")
    parser.add_argument("--repeat", type=int, default=3, help="epochs timed per contender (>= 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and torch threads (default: numpy's BLAS thread count)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"subset of {','.join(CONTENDERS)}")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    parser.add_argument("--no-book-run", action="store_true",
                        help="skip the book's 30-epoch run")
    parser.add_argument("--mnist", default=None, help="directory of MNIST's IDX files")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, spec = args.worker
        print(json.dumps(WORKERS[kind](json.loads(spec))))
        return 0
    runs = [r.upper() for r in _csv(args.runs)]
    unknown = [r for r in runs if r not in RUNS] + [
        d for d in _csv(args.dtype) if d not in ("float64", "float32")] + [
        c for c in _csv(args.contenders) if c not in CONTENDERS]
    if unknown or args.repeat < 1:
        parser.error(f"unknown runs, dtypes or contenders: {unknown}" if unknown else
                     "--repeat must be >= 1")
    from rich.console import Console

    console = Console()
    report = run_benchmarks(
        runs, _csv(args.dtype), args.repeat, args.threads, _csv(args.contenders),
        memory=not args.no_memory, book_run=not args.no_book_run, mnist=args.mnist,
        progress=lambda message: console.print(f"[dim]{message}[/]"),
    )
    print_report(report, console)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
