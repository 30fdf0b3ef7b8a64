"""Performance guards: ratios of timings taken side by side in one run, never absolute times.

The machine may be busy (other test runs share its cores), so each guard interleaves the contenders,
takes medians, and asks for a factor well below what is measured on a quiet machine: what it catches
is a regression of several times, such as a fast path that fell back to the readable loop or a loop
that allocates per mini-batch. docs/benchmarks.md has the real measurements (bench/run.py).
"""

from __future__ import annotations

import gzip
import json
import statistics
import time
import tracemalloc

import numpy as np
import pytest

from deltaprop import Network, _fast, benchmark, reference
from deltaprop.training import fit


def _data(rows: int, columns: int = 784, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((rows, columns)), rng.integers(0, 10, rows)


def _fit_epoch_seconds(sizes, X, y, batch_size, fast: bool) -> float:
    """The training loop's seconds of one epoch of fit (history record), in row order."""
    previous = _fast.enabled
    _fast.enabled = fast
    try:
        net = Network(sizes, seed=0)
        history = fit(net, X, y, epochs=1, batch_size=batch_size, eta=3.0, shuffle=False)
    finally:
        _fast.enabled = previous
    return history["seconds"][0]


def _interleaved_medians(contenders: dict, repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, measure in contenders.items():
            times[name].append(measure())
    return {name: statistics.median(values) for name, values in times.items()}


def test_a_fit_epoch_is_many_times_faster_than_the_per_example_loop():
    """Run A's shape on 1,500 rows: measured 10-25x on a 2-core machine; guard at 4x."""
    X, y = _data(1_500)
    Y = np.eye(10)[y]

    def book() -> float:
        net = Network([784, 30, 10], seed=0)
        started = time.perf_counter()
        reference.sgd_epoch(net, X, Y, 10, 3.0)
        return time.perf_counter() - started

    medians = _interleaved_medians({
        "fit": lambda: _fit_epoch_seconds([784, 30, 10], X, y, 10, fast=True),
        "book": book,
    }, repeat=3)
    assert medians["book"] / medians["fit"] >= 4.0, medians


def test_the_fast_path_is_not_slower_than_the_readable_one_with_small_batches():
    """Batch 10: measured 0.5-0.65 of the readable loop's time; guard at 0.9."""
    X, y = _data(2_000)
    medians = _interleaved_medians({
        "fast": lambda: _fit_epoch_seconds([784, 30, 10], X, y, 10, fast=True),
        "readable": lambda: _fit_epoch_seconds([784, 30, 10], X, y, 10, fast=False),
    }, repeat=5)
    assert medians["fast"] <= 0.9 * medians["readable"], medians


def test_the_fast_path_is_not_slower_than_the_readable_one_with_large_batches():
    """Batch 128, products dominate: measured about equal (0.85-1.0); guard at 1.5. One BLAS
    thread for both: on a busy 2-core machine a second thread makes both many times slower."""
    from threadpoolctl import threadpool_limits

    X, y = _data(1_024, columns=256)
    sizes = [256, 256, 256, 10]
    with threadpool_limits(limits=1, user_api="blas"):
        medians = _interleaved_medians({
            "fast": lambda: _fit_epoch_seconds(sizes, X, y, 128, fast=True),
            "readable": lambda: _fit_epoch_seconds(sizes, X, y, 128, fast=False),
        }, repeat=5)
    assert medians["fast"] <= 1.5 * medians["readable"], medians


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_epoch_allocates_nothing_that_grows_with_the_batches(dtype, monkeypatch):
    """Python/numpy allocations during the fast epoch: the same for 50 and 500 mini-batches."""
    original = _fast.run_epoch
    peaks: list[int] = []

    def measured(*args):
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = original(*args)
        peaks.append(tracemalloc.get_traced_memory()[1] - start)
        return result

    monkeypatch.setattr(_fast, "run_epoch", measured)
    X, y = _data(5_000, columns=100)
    X = X.astype(dtype)
    tracemalloc.start()
    try:
        for rows in (500, 5_000):
            net = Network([100, 30, 10], seed=0, dtype=dtype)
            fit(net, X[:rows], y[:rows], epochs=2, batch_size=10, eta=1.0, seed=0)
    finally:
        tracemalloc.stop()
    # epoch 1 allocates the buffers; epoch 2 only the speed table's reduction (kilobytes)
    first_small, second_small, first_large, second_large = peaks
    assert second_small < 64_000 and second_large < 64_000, peaks
    assert abs(first_large - first_small) < 64_000, peaks


def test_targets_are_checked_against_the_issue(tmp_path):
    result = {
        "run": "A", "dtype": "float64", "seconds": {"deltaprop": 1.0, "torch": 10.0,
                                                    "sklearn": 10.0, "book": 30.0},
        "parameters": 1, "rows": 1, "gemm_peak_gflops": 10.0,
        "memory": {"epoch_peak_bytes": 90, "budget_bytes": 100},
    }
    # D: 6 × 1.5e8 parameters × 10 rows / 1 s = 9 GFLOP/s, 90% of the 10 GFLOP/s peak
    d = dict(result, run="D", seconds={"deltaprop": 1.0, "torch": 0.5}, parameters=150_000_000,
             rows=10)
    targets = benchmark.check_targets({"results": [result, d],
                                       "book_run": {"wall_seconds": 12.0}})
    met = {t["target"]: t["met"] for t in targets}
    assert met == {
        "A float64: deltaprop / PyTorch": True,  # 0.1 <= 0.15
        "A float64: deltaprop / scikit-learn": False,  # 0.1 > 0.05
        "A float64: book loop / deltaprop": True,  # 30 >= 20
        "A float64: training peak memory / budget": True,
        "D float64: share of GEMM peak": True,  # 0.9 >= 0.8
        "D float64: deltaprop / PyTorch": False,  # slower than PyTorch
        "D float64: training peak memory / budget": True,
        "book's run (A, 30 epochs, test set): wall seconds": False,
    }


def test_mnist_idx_files_are_read_in_place(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in images.shape)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 0, 9]))
    assert benchmark.mnist_dir(str(tmp_path)) == str(tmp_path)
    X, y, source = benchmark.load_data(2, "float32", str(tmp_path))
    assert source == "MNIST" and X.dtype == np.float32 and X.shape == (2, 784)
    np.testing.assert_allclose(X, images[:2].reshape(2, 784) / np.float32(255))
    assert y.tolist() == [7, 0]
    X, y, source = benchmark.load_data(5, "float64", None)
    assert source == "random" and X.shape == (5, 784) and X.dtype == np.float64


def test_the_command_line_runs_a_small_suite_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = benchmark.main(["--runs", "C", "--dtype", "float32", "--repeat", "1", "--rows", "512",
                           "--contenders", "deltaprop,readable", "--no-memory", "--no-book-run",
                           "--peak-order", "256",
                           "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    (result,) = report["results"]
    assert result["run"] == "C" and result["rows"] == 512
    assert set(result["seconds"]) == {"deltaprop", "readable"}
    assert result["gemm_peak_gflops"] > 0
    assert "One training epoch" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        benchmark.main(["--runs", "E"])
