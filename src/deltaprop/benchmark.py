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
  per-epoch monitoring (train cost/accuracy, saturation). The gather's share ("its gather") is
  timed by wrapping ``_Trainer._epoch_order``. ``readable`` is the same with the fast path
  (deltaprop._fast) switched off: ``Network.gradient`` + ``SGD.step`` per mini-batch.
- PyTorch: nn.Linear + nn.Sigmoid layers holding deltaprop's initial parameters, loss
  ½‖a − y‖² summed over outputs and averaged over the batch, torch.optim.SGD (no momentum), one
  randperm gather per epoch, the same batch size and dtype, ``torch.set_num_threads(threads)``.
- scikit-learn: ``MLPClassifier(solver="sgd", momentum=0, nesterovs_momentum=False,
  activation="logistic", alpha=0, max_iter=1)``; the time of ``fit``. Its output layer is softmax
  with log-loss (it has no quadratic cost for classifiers); ConvergenceWarning is silenced.
- book: ``deltaprop.reference.sgd_epoch``, one example at a time, on the first 5,000 rows, the time
  multiplied by rows / 5,000 (it is linear in the rows); marked "×10" in the table.

Each (run, dtype) runs in a fresh subprocess that times the contenders interleaved, ``repeat``
rounds (default 5) in rotating order, and keeps the median of each; ratios are of medians taken
side by side. The same subprocess measures the GEMM peak (best of several square ``np.matmul`` of
order 2048), so that deltaprop's achieved GFLOP/s (6 × parameters × rows / seconds) is compared with
a peak of the same moment. Peak memory is measured in another fresh subprocess per (run, dtype):
the peak resident set (VmHWM, reset through /proc/self/clear_refs) of the training epoch and of the
whole fit, above the resident set with the data loaded, against dataset + 2 × model + 50 MB.

``threads`` (default: numpy's BLAS thread count) is applied to every BLAS library (threadpoolctl)
and to PyTorch alike. ``--profile`` instead times each call of one fast-path step (runs A-C).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import importlib.metadata
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
from dataclasses import asdict, dataclass, field, replace
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


def _time_deltaprop(
    run: Run, X: np.ndarray, y: np.ndarray, dtype: str, fast: bool, gathers: list[float]
) -> float:
    """The epoch's seconds from fit's history; the part of it spent in the shuffled gather
    (``_Trainer._epoch_order``, timed by a wrapper) is appended to ``gathers``."""
    from deltaprop import Network, _fast, training

    previous, original = _fast.enabled, training._Trainer._epoch_order

    def timed_order(self: Any) -> Any:
        started = time.perf_counter()
        result = original(self)
        gathers.append(time.perf_counter() - started)
        return result

    _fast.enabled = fast
    training._Trainer._epoch_order = timed_order  # type: ignore[method-assign]
    try:
        net = Network(list(run.sizes), seed=0, dtype=dtype)
        history = training.fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=ETA, seed=1)
    finally:
        _fast.enabled = previous
        training._Trainer._epoch_order = original  # type: ignore[method-assign]
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


# -- worker subprocesses --------------------------------------------------------------------------


def _limit_threads(threads: int) -> Any:
    from threadpoolctl import threadpool_limits

    import deltaprop._fast  # noqa: F401  (loads scipy's BLAS, so that the limit reaches it)

    return threadpool_limits(limits=threads, user_api="blas")


def _run_of(spec: dict[str, Any]) -> Run:
    """The spec's run, with fewer rows when it says so (quick checks, tests)."""
    run = RUNS[spec["run"]]
    return replace(run, rows=spec["rows"]) if spec.get("rows") else run


def _timing_worker(spec: dict[str, Any]) -> dict[str, Any]:
    run = _run_of(spec)
    dtype, threads, repeat = spec["dtype"], spec["threads"], spec["repeat"]
    contenders = [c for c in run.contenders if c in spec["contenders"]]
    limiter = _limit_threads(threads)
    X, y, source = load_data(run.rows, dtype, spec["mnist"])
    gathers: dict[str, list[float]] = {"deltaprop": [], "readable": []}
    timers = {
        "deltaprop": lambda: _time_deltaprop(run, X, y, dtype, True, gathers["deltaprop"]),
        "readable": lambda: _time_deltaprop(run, X, y, dtype, False, gathers["readable"]),
        "torch": lambda: _time_torch(run, X, y, dtype, threads),
        "sklearn": lambda: _time_sklearn(run, X, y, dtype),
        "book": lambda: _time_book(run, X, y, dtype),
    }
    if "torch" in contenders:
        import torch  # noqa: F401  (imported before timing anything, for every contender alike)
    order = spec.get("peak_order") or 2048
    peaks = [gemm_peak(dtype, order)]
    times: dict[str, list[float]] = {c: [] for c in contenders}
    for r in range(repeat):
        rotated = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for contender in rotated:
            times[contender].append(timers[contender]())
    peaks.append(gemm_peak(dtype, order))
    limiter.restore_original_limits()
    return {"times": times, "gemm_peak_gflops": max(peaks), "data": source,
            "epoch_gathers": gathers, "load": os.getloadavg()[0]}


def _vm_hwm_bytes() -> int:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) * 1024 if match else 0


def _vm_rss_bytes() -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) * 1024 if match else 0


def _memory_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Peak resident memory of fit(epochs=1) above the memory with the data loaded (Linux /proc):
    of the training epoch (``_Trainer.run_epoch``: shuffled gather and mini-batches) and of the
    whole fit (also its input checks and the monitoring forward passes after the epoch)."""
    from deltaprop import Network, training

    run = _run_of(spec)
    dtype = spec["dtype"]
    limiter = _limit_threads(spec["threads"])
    X, y, source = load_data(run.rows, dtype, spec["mnist"])
    net = Network(list(run.sizes), seed=0, dtype=dtype)
    training.fit(net, X[:200], y[:200], epochs=1, batch_size=run.batch_size, eta=ETA)  # warm-up
    net = Network(list(run.sizes), seed=0, dtype=dtype)
    peaks: dict[str, int] = {}
    original = training._Trainer.run_epoch

    def reset_peak() -> None:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS

    def measured_epoch(self: Any, *args: Any, **kwargs: Any) -> Any:
        peaks["before_epoch"] = _vm_hwm_bytes()
        reset_peak()
        result = original(self, *args, **kwargs)
        peaks["epoch"] = _vm_hwm_bytes()
        return result

    try:
        reset_peak()
    except OSError:  # no /proc/self/clear_refs: report nothing rather than a wrong number
        limiter.restore_original_limits()
        return {"data": source, "epoch_peak_bytes": None, "fit_peak_bytes": None}
    before = _vm_rss_bytes()
    training._Trainer.run_epoch = measured_epoch  # type: ignore[method-assign]
    try:
        training.fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=ETA, seed=1)
    finally:
        training._Trainer.run_epoch = original  # type: ignore[method-assign]
    after = _vm_hwm_bytes()  # since the epoch began: the epoch and the monitoring after it
    limiter.restore_original_limits()
    itemsize = np.dtype(dtype).itemsize
    dataset = X.nbytes + run.rows * run.sizes[-1] * itemsize  # inputs and one-hot targets
    model = run.parameters * itemsize
    return {"epoch_peak_bytes": peaks["epoch"] - before,
            "fit_peak_bytes": max(peaks["before_epoch"], after) - before,
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


def _profile_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Where the microseconds of one fast-path step go, for a [n0, n1, n2] sigmoid/quadratic run:
    each numpy/BLAS call of the step timed alone (CPU time, 1 BLAS thread, same shapes and arrays),
    and the whole epoch's CPU time per step; the difference is the Python around the calls."""
    from scipy.linalg import blas
    from scipy.special import expit

    from deltaprop import Network, _fast, training

    run = _run_of(spec)
    dtype = np.dtype(spec["dtype"])
    if len(run.sizes) != 3:
        raise ValueError("the step profile covers networks with one hidden layer (runs A-C)")
    limiter = _limit_threads(1)
    n0, n1, n2 = run.sizes
    m = run.batch_size
    rng = np.random.default_rng(0)
    X = rng.random((max(20 * m, 5_000), n0)).astype(dtype)
    Y = rng.random((X.shape[0], n2)).astype(dtype)
    W1, W2 = rng.random((n1, n0)).astype(dtype), rng.random((n2, n1)).astype(dtype)
    b1, b2 = np.zeros((1, n1), dtype), np.zeros((1, n2), dtype)
    z1, a1, d1, t1 = (np.empty((m, n1), dtype) for _ in range(4))
    z2, a2, d2, t2 = (np.empty((m, n2), dtype) for _ in range(4))
    ones, row = np.ones(m, dtype), np.empty(n1 + n2, dtype)
    one, c = np.ones((), dtype), np.asarray(1e-9, dtype)
    gemm = blas.dgemm if dtype == np.float64 else blas.sgemm
    xb, yb = X[:m], Y[:m]

    def sigmoid(z: np.ndarray, a: np.ndarray) -> None:
        if dtype == np.float64:
            expit(z, out=a)
        else:
            _fast._sigmoid_into(z, a)

    calls = {
        "forward 1: X_b w1ᵀ (dot)": lambda: np.dot(xb, W1.T, out=z1),
        "forward 1: + b1": lambda: np.add(z1, b1, out=z1),
        "forward 1: σ": lambda: sigmoid(z1, a1),
        "forward 2: a1 w2ᵀ (dot)": lambda: np.dot(a1, W2.T, out=z2),
        "forward 2: + b2": lambda: np.add(z2, b2, out=z2),
        "forward 2: σ": lambda: sigmoid(z2, a2),
        "BP1: (η/m)(a − y) a(1 − a), 5 calls": lambda: (
            np.subtract(one, a2, out=t2), np.multiply(t2, a2, out=t2),
            np.subtract(a2, yb, out=d2), np.multiply(d2, t2, out=d2),
            np.multiply(d2, c, out=d2)),
        "BP2: δ2 w2 (dot)": lambda: np.dot(d2, W2, out=d1),
        "BP2: ⊙ a1(1 − a1), 3 calls": lambda: (
            np.subtract(one, a1, out=t1), np.multiply(t1, a1, out=t1),
            np.multiply(d1, t1, out=d1)),
        "BP3: Σ δ, 2 dots": lambda: (np.dot(ones, d1, out=row[:n1]),
                                     np.dot(ones, d2, out=row[n1:])),
        "divergence check: dot": lambda: np.dot(row, row),
        "BP4 + update 1: GEMM β=1": lambda: gemm(-1.0, xb.T, d1.T, 1.0, W1.T, 0, 1, 1),
        "BP4 + update 2: GEMM β=1": lambda: gemm(-1.0, a1.T, d2.T, 1.0, W2.T, 0, 1, 1),
        "bias updates: 2 subtracts": lambda: (np.subtract(b1[0], row[:n1], out=b1[0]),
                                              np.subtract(b2[0], row[n1:], out=b2[0])),
    }
    d1.fill(0.0)
    d2.fill(0.0)  # the updates then leave w unchanged: the same arrays stay valid all along
    n_calls = 2_000
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(5):
        for name, call in calls.items():
            started = time.process_time()
            for _ in range(n_calls):
                call()
            samples[name].append((time.process_time() - started) / n_calls * 1e6)
    per_call = {name: statistics.median(v) for name, v in samples.items()}
    # the whole loop, per step, in CPU time (the fast path's epoch only, not fit's monitoring)
    rows = 20_000 if m < 100 else 50_000
    Xe = rng.random((rows, n0)).astype(dtype)
    ye = rng.integers(0, n2, rows)
    original, epochs = _fast.run_epoch, []

    def timed(*args: Any) -> Any:
        started = time.process_time()
        result = original(*args)
        epochs.append(time.process_time() - started)
        return result

    _fast.run_epoch = timed
    try:
        for _ in range(3):
            training.fit(Network(list(run.sizes), seed=0, dtype=dtype), Xe, ye, epochs=1,
                         batch_size=m, eta=ETA, shuffle=False)
    finally:
        _fast.run_epoch = original
    limiter.restore_original_limits()
    step = statistics.median(epochs) / (rows // m) * 1e6
    return {"run": run.name, "dtype": dtype.name, "per_call_us": per_call,
            "calls_total_us": sum(per_call.values()), "step_us": step}


WORKERS = {"timing": _timing_worker, "memory": _memory_worker, "book_run": _book_run_worker,
           "profile": _profile_worker}


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
    load_average: float
    epoch_gather_seconds: dict[str, float] = field(default_factory=dict)  # medians, in the epoch
    all_epoch_gathers: dict[str, list[float]] = field(default_factory=dict)
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
    repeat: int = 5,
    threads: int | None = None,
    contenders: list[str] | None = None,
    memory: bool = True,
    book_run: bool = True,
    mnist: str | None = None,
    progress: Any = None,
    rows: int | None = None,
    peak_order: int = 2048,
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
        run = replace(RUNS[name], rows=rows) if rows else RUNS[name]
        for dtype in dtypes:
            say(f"run {name} {dtype}: timing {', '.join(c for c in run.contenders if c in contenders)}")
            spec = {"run": name, "dtype": dtype, "threads": threads, "repeat": repeat,
                    "contenders": contenders, "mnist": mnist, "rows": rows,
                    "peak_order": peak_order}
            measured = _in_subprocess("timing", spec)
            seconds = {c: statistics.median(v) for c, v in measured["times"].items()}
            gathers = {c: v for c, v in measured["epoch_gathers"].items() if v}
            result = Result(
                name, dtype, run.sizes, run.batch_size, run.rows, run.parameters,
                measured["data"], seconds, measured["times"], measured["gemm_peak_gflops"],
                measured["load"],
                {c: statistics.median(v) for c, v in gathers.items()}, gathers,
                ratios=_ratios(seconds),
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
    for module, distribution in (("torch", "torch"), ("sklearn", "scikit-learn"),
                                 ("scipy", "scipy")):
        try:
            info[module] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
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
            share = 6.0 * r["parameters"] * r["rows"] / ours / 1e9 / r["gemm_peak_gflops"]
            add(f"{tag}: share of GEMM peak", share, 0.8 if r["dtype"] == "float64" else 0.7, False)
            add(f"{tag}: deltaprop / PyTorch", ours / s["torch"] if "torch" in s else None, 1.0, True)
        memory = r.get("memory")
        if memory and memory.get("epoch_peak_bytes") is not None:
            add(f"{tag}: training peak memory / budget",
                memory["epoch_peak_bytes"] / memory["budget_bytes"], 1.0, True)
    book = report.get("book_run")
    if book:
        add("book's run (A, 30 epochs, test set): wall seconds", book["wall_seconds"], 10.0, True,
            "s")
    return targets


# -- output ---------------------------------------------------------------------------------------


def _fmt(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.3f}"


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """Rich tables: seconds; ratios, GFLOP/s and memory; the shuffled gather; the targets."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    mb = 2**20
    seconds = Table(title=f"One training epoch, seconds (median of {report['repeat']}; "
                          f"{report['threads']} BLAS/torch threads)")
    for column in ("run", "dtype", "deltaprop", "(its gather)", "readable", "PyTorch", "sklearn",
                   "book ×10"):
        seconds.add_column(column, justify="right")
    ratios = Table(title="Ratios of those medians; deltaprop's GFLOP/s (6·params·rows/s) and memory")
    for column in ("run", "dtype", "dp/PyTorch", "dp/sklearn", "book/dp", "readable/dp",
                   "GFLOP/s", "GEMM peak", "train MB", "budget MB"):
        ratios.add_column(column, justify="right")
    for r in report["results"]:
        s = r["seconds"]
        ours = s.get("deltaprop")
        gather = (r.get("epoch_gather_seconds") or {}).get("deltaprop")
        seconds.add_row(r["run"], r["dtype"], _fmt(ours), _fmt(gather), _fmt(s.get("readable")),
                        _fmt(s.get("torch")), _fmt(s.get("sklearn")), _fmt(s.get("book")))
        memory = r.get("memory") or {}
        peak = memory.get("epoch_peak_bytes")
        ratios.add_row(
            r["run"], r["dtype"],
            f"{ours / s['torch']:.3f}" if ours and "torch" in s else "",
            f"{ours / s['sklearn']:.3f}" if ours and "sklearn" in s else "",
            f"{s['book'] / ours:.1f}×" if ours and "book" in s else "",
            f"{s['readable'] / ours:.2f}×" if ours and "readable" in s else "",
            f"{r['gflops']:.1f}" if ours else "",
            f"{r['gemm_peak_gflops']:.0f} ({100 * r['gflops'] / r['gemm_peak_gflops']:.0f}%)"
            if ours else "",
            "" if peak is None else f"{peak / mb:.0f}",
            "" if peak is None else f"{memory['budget_bytes'] / mb:.0f}",
        )
    console.print(seconds)
    console.print(ratios)
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
    loads = ", ".join(f"{r['load_average']:.1f}" for r in report["results"])
    console.print(f"{m['cpu']}, {m['cores']} cores; numpy {m['numpy']}, BLAS {m.get('blas')}; "
                  f"torch {m['torch']}, scikit-learn {m['sklearn']}; data: "
                  f"{report['results'][0]['data'] if report['results'] else '-'}; load average "
                  f"{loads}")


def markdown_tables(report: dict[str, Any]) -> str:
    """The report's tables in Markdown (for docs/benchmarks.md)."""
    mb = 2**20
    lines = [
        f"One epoch, seconds, median of {report['repeat']} ({report['threads']} BLAS/torch "
        f"thread{'s' if report['threads'] != 1 else ''}; data: "
        f"{report['results'][0]['data'] if report['results'] else '-'}):",
        "",
        "| run | dtype | deltaprop | (its gather) | readable | PyTorch | sklearn | book ×10 "
        "| dp/PyTorch | dp/sklearn | book/dp | GFLOP/s | % of GEMM peak | train MB / budget |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in report["results"]:
        s = r["seconds"]
        ours = s.get("deltaprop")
        gather = (r.get("epoch_gather_seconds") or {}).get("deltaprop")
        memory = r.get("memory") or {}
        peak = memory.get("epoch_peak_bytes")
        lines.append(" | ".join([
            f"| {r['run']}", r["dtype"], _fmt(ours), _fmt(gather), _fmt(s.get("readable")),
            _fmt(s.get("torch")), _fmt(s.get("sklearn")), _fmt(s.get("book")),
            f"{ours / s['torch']:.3f}" if ours and "torch" in s else "",
            f"{ours / s['sklearn']:.3f}" if ours and "sklearn" in s else "",
            f"{s['book'] / ours:.1f}×" if ours and "book" in s else "",
            f"{r['gflops']:.1f}" if ours else "",
            f"{100 * r['gflops'] / r['gemm_peak_gflops']:.0f}% of {r['gemm_peak_gflops']:.0f}"
            if ours else "",
            ("" if peak is None else f"{peak / mb:.0f} / {memory['budget_bytes'] / mb:.0f}")
            + " |",
        ]))
    book = report.get("book_run")
    if book:
        lines += ["", f"The book's run (A, {book['epochs']} epochs, test set every epoch): "
                      f"{book['wall_seconds']:.1f} s wall; epochs {min(book['epoch_seconds']):.2f}"
                      f"–{max(book['epoch_seconds']):.2f} s; test accuracy "
                      f"{book['test_accuracy']:.4f}."]
    lines += ["", "| target | measured | limit | met |", "|---|--:|--:|:-:|"]
    for t in report["targets"]:
        sign = "≤" if t["at_most"] else "≥"
        lines.append(f"| {t['target']} | {t['measured']:.3f}{t['unit']} | {sign} {t['limit']} | "
                     f"{'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def print_profile(profiles: list[dict[str, Any]], console: Any = None) -> None:
    """One column per (run, dtype): microseconds of each call of a fast-path step."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="One fast-path step, µs of CPU time per call (each timed alone, 1 thread)")
    table.add_column("call")
    for p in profiles:
        table.add_column(f"{p['run']} {p['dtype']}", justify="right")
    for name in profiles[0]["per_call_us"]:
        table.add_row(name, *(f"{p['per_call_us'][name]:.1f}" for p in profiles))
    table.add_row("sum of the calls", *(f"{p['calls_total_us']:.1f}" for p in profiles))
    table.add_row("whole step, in the loop", *(f"{p['step_us']:.1f}" for p in profiles))
    console.print(table)


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python bench/run.py [--runs A,B] [--dtype float64] [--json out.json]``."""
    parser = argparse.ArgumentParser(prog="deltaprop bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=",".join(RUNS), help="runs to time, e.g. A,B (A-D)")
    parser.add_argument("--dtype", default="float64,float32", help="float64, float32 or both")
    parser.add_argument("--repeat", type=int, default=5, help="epochs timed per contender (>= 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and torch threads (default: numpy's BLAS thread count)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"subset of {','.join(CONTENDERS)}")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    parser.add_argument("--no-book-run", action="store_true",
                        help="skip the book's 30-epoch run")
    parser.add_argument("--mnist", default=None, help="directory of MNIST's IDX files")
    parser.add_argument("--rows", type=int, default=None,
                        help="train on this many rows instead of the run's (quick checks)")
    parser.add_argument("--peak-order", type=int, default=2048,
                        help="order of the square matmul that measures the GEMM peak")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    parser.add_argument("--markdown", default=None,
                        help="write the tables to this Markdown file (or render a --json file "
                             "given with --from-json)")
    parser.add_argument("--from-json", default=None,
                        help="render the tables of an earlier --json file; measure nothing")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the suite: where the µs of one step go (runs A-C)")
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
    if unknown or args.repeat < 1 or (args.rows is not None and args.rows < 1):
        parser.error(f"unknown runs, dtypes or contenders: {unknown}" if unknown else
                     "--repeat and --rows must be >= 1")
    from rich.console import Console

    if args.from_json:  # render earlier results, measure nothing
        report = json.loads(Path(args.from_json).read_text())
        if args.markdown:
            Path(args.markdown).write_text(markdown_tables(report))
        else:
            print_report(report)
        return 0
    console = Console(width=max(Console().width, 110))
    if args.profile:
        profiles = [
            _in_subprocess("profile", {"run": run, "dtype": dtype, "rows": args.rows})
            for run in runs if len(RUNS[run].sizes) == 3 for dtype in _csv(args.dtype)
        ]
        if profiles:
            print_profile(profiles, console)
        if args.json:
            Path(args.json).write_text(json.dumps(profiles, indent=2))
        return 0
    report = run_benchmarks(
        runs, _csv(args.dtype), args.repeat, args.threads, _csv(args.contenders),
        memory=not args.no_memory, book_run=not args.no_book_run, mnist=args.mnist,
        progress=lambda message: console.print(f"[dim]{message}[/]"), rows=args.rows,
        peak_order=args.peak_order,
    )
    print_report(report, console)
    if args.markdown:
        Path(args.markdown).write_text(markdown_tables(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
