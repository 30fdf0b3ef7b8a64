"""Performance guards and the benchmark suite's command line (bench/run.py).

The guards compare timings or sizes taken side by side in one run, never absolute times: the machine
may be busy (other test runs share its cores), so each guard interleaves the contenders, takes
medians, and asks for a factor well below what is measured on a quiet machine. What they catch is a
regression of several times: a step that falls back to a per-example loop, a fit that copies its
training data. docs/benchmarks.md has the real measurements.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

import deltaprop
from deltaprop import reference

RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"
fit = getattr(deltaprop, "fit", None) or deltaprop.training.fit


def _data(rows: int, columns: int = 784, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((rows, columns)), rng.integers(0, 10, rows)


def _interleaved_medians(contenders: dict, repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, measure in contenders.items():
            times[name].append(measure())
    return {name: statistics.median(values) for name, values in times.items()}


def test_a_fit_epoch_is_many_times_faster_than_the_per_example_loop():
    """Run A's shape on 3,000 rows, the whole fit call (checks and monitoring included) against the
    book's loop: measured 6-10x on a 2-core machine; guard at 3x."""
    X, y = _data(3_000)
    Y = np.eye(10)[y]

    def timed(train) -> float:
        net = deltaprop.Network([784, 30, 10], seed=0)
        started = time.perf_counter()
        train(net)
        return time.perf_counter() - started

    medians = _interleaved_medians({
        "fit": lambda: timed(lambda net: fit(net, X, y, epochs=1, batch_size=10, eta=3.0, seed=1)),
        "book": lambda: timed(lambda net: reference.sgd_epoch(net, X, Y, 10, 3.0)),
    }, repeat=3)
    assert medians["book"] / medians["fit"] >= 3.0, medians


def test_a_fit_does_not_copy_the_training_data():
    """Python/numpy allocations during a fit on float64 data of the network's dtype: measured about
    a tenth of X's size (buffers, one epoch's order, monitoring chunks); guard at a quarter."""
    X, y = _data(5_000)
    net = deltaprop.Network([784, 30, 10], seed=0)
    tracemalloc.start()
    try:
        fit(net, X, y, epochs=1, batch_size=100, eta=3.0, seed=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 4, (peak, X.nbytes)


TINY = ["--runs", "A", "--dtype", "float64", "--rows", "300", "--book-rows", "50", "--no-e2e"]


def _suite(*arguments: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *arguments], capture_output=True, text=True,
                          timeout=120, check=False, **kwargs)


def test_the_suite_runs_a_tiny_config_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    done = _suite(*TINY, "--repeat", "1", "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("quick suite:")  # the plan comes first
    report = json.loads(out.read_text())
    assert report["status"] == "complete" and report["suite"] == "quick"
    (entry,) = report["runs"]
    assert (entry["run"], entry["dtype"], entry["rows"]) == ("A", "float64", 300)
    assert set(entry["times"]) == {"deltaprop", "deltaprop_epoch", "torch", "sklearn", "book"}
    assert all(len(times) == 1 and times[0] > 0 for times in entry["times"].values())
    (memory,) = report["memory"]
    assert memory["run"] == "A" and memory["added_mb"] >= 0
    assert [t["target"] for t in report["targets"]] == [
        "A float64: deltaprop / PyTorch", "A float64: MB a fit adds to the peak"]
    assert all(t["met"] in (True, False) for t in report["targets"])
    rendered = _suite("--from-json", str(out), "--markdown")
    assert rendered.returncode == 0, rendered.stderr
    assert "| A | float64 | 300 | 1 |" in rendered.stdout
    assert _suite("--runs", "E").returncode == 2


def _measured(path: Path) -> bool:
    """Whether the results file holds a time (it is replaced atomically: always whole)."""
    return path.is_file() and any(entry["times"] for entry in json.loads(path.read_text())["runs"])


def test_ctrl_c_leaves_the_results_so_far(tmp_path):
    out = tmp_path / "results.json"
    child = subprocess.Popen(
        [sys.executable, str(RUN), *TINY, "--contenders", "deltaprop,torch", "--repeat", "1000",
         "--no-memory", "--json", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None and not _measured(out):
            time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, stderr
    assert stdout.splitlines()[-1] == f"interrupted: the results so far are in {out}"
    assert "Traceback" not in stderr
    report = json.loads(out.read_text())
    assert report["status"] == "interrupted"
    assert report["runs"][0]["times"]["deltaprop"]


#: A ``sitecustomize`` that makes PyTorch missing, as in the main install (no test extras): a finder
#: refusing ``torch`` in every process started with it on PYTHONPATH (the suite's workers included).
NO_TORCH = '''
import sys


class NoTorch:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoTorch)
'''


def test_without_torch_the_suite_runs_the_other_contenders(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(NO_TORCH)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "deltaprop", "bench", *TINY[:-1], "--repeat", "1",
                           "--no-memory", "--e2e-repeat", "1", "--json", str(out)], capture_output=True,
                          text=True, timeout=300, env=environment, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "ModuleNotFoundError" not in done.stdout
    hints = [line for line in done.stdout.splitlines() if "PyTorch is not installed" in line]
    assert len(hints) == 1 and "pip install -e '.[test]'" in hints[0]
    report = json.loads(out.read_text())
    assert report["status"] == "complete"
    (entry,) = report["runs"]
    assert set(entry["times"]) == {"deltaprop", "deltaprop_epoch", "sklearn", "book"}
    assert not report.get("end_to_end")


def test_the_photo_benchmark_prints_its_medians():
    """bench/photo_prepare.py prints the median time to read and to prepare a 200 x 200 photo of a
    digit (the target, 20 ms, is measured there and written in docs/benchmarks.md, not timed here)."""
    done = subprocess.run([sys.executable, str(RUN.parent / "photo_prepare.py"), "--photos", "3",
                           "--repeat", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    medians = dict(re.findall(r"^(read|prepare): median ([0-9.]+) ms per 200 x 200 png photo",
                              done.stdout, re.M))
    assert set(medians) == {"read", "prepare"}, done.stdout
    assert all(float(value) > 0 for value in medians.values())


def test_the_tables_benchmark_compares_both_on_each_table():
    """bench/tables.py (one seed here) prints a row per bundled table with both accuracies; the
    figures themselves are measured there and written in docs/tables.md."""
    done = subprocess.run([sys.executable, str(RUN.parent / "tables.py"), "--seeds", "1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^\| (\w+) \| \d+ x \d+ \| ([0-9.]+)% \| ([0-9.]+)% \|", done.stdout, re.M)
    assert [name for name, _, _ in rows] == ["iris", "wine", "breast_cancer", "digits"], done.stdout
    assert all(float(ours) >= 80 and float(theirs) >= 80 for _, ours, theirs in rows)
