"""deltaprop.sklearn side by side with scikit-learn: the same data, each estimator with its defaults.

    python bench/sklearn_compare.py                      # digits, MNIST 20k (if found), diabetes
    python bench/sklearn_compare.py --mnist DIR --repeats 5 --json out.json
    python bench/sklearn_compare.py --datasets digits --repeats 1 --max-iter 5   # a smoke run

Each data set is split once (MNIST: the first --rows training rows against the 10,000 test rows;
digits and diabetes: 75/25 with random_state 0). Each repeat r fits scikit-learn's estimator,
deltaprop.sklearn's with its defaults, and deltaprop.sklearn's with dtype="float32", all with
random_state=r and the same hidden_layer_sizes and max_iter, in an order that rotates from repeat to
repeat (interleaved: a slow phase of the machine hits every contender alike). The fit is timed; the
speed-up is the median over repeats of scikit-learn's time over deltaprop's in the same repeat (the
columns of seconds are medians too); the load average before and after is printed. The
score is the test accuracy (R² for diabetes, whose targets are standardized with the training mean
and deviation: with raw targets near 150 both estimators end at R² ≈ −3.7 in 200 epochs). The table
gives medians. Goal: deltaprop's score at least scikit-learn's minus 0.5 point, in at most half its
fit time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

CONTENDERS = ("scikit-learn", "deltaprop", "deltaprop float32")
DATASETS = ("digits", "mnist", "diabetes")
GOAL_POINTS = 0.5  # score points (of 100) deltaprop may lose
GOAL_SPEEDUP = 2.0


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (else platform's), with the logical core count."""
    name = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical cores"


def load(name: str, mnist_dir: str | None, rows: int) -> dict[str, Any] | None:
    """{"X", "y", "X_test", "y_test", "task", "shape"}, or None when MNIST's files are missing."""
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.model_selection import train_test_split

    if name == "mnist":
        from deltaprop.datasets import load_mnist

        if mnist_dir is None:  # the suite's folders (bench/datasource.py), then deltaprop's
            here = str(Path(__file__).resolve().parent)
            if here not in sys.path:
                sys.path.insert(0, here)
            from datasource import mnist_dir as bench_mnist_dir

            mnist_dir = bench_mnist_dir()
        try:
            data = load_mnist(mnist_dir, download=False)
        except (FileNotFoundError, OSError) as error:
            print(f"MNIST skipped: {error}", file=sys.stderr)
            return None
        X, y = data.train.X[:rows], data.train.y[:rows]
        return {"X": X, "y": y, "X_test": data.test.X, "y_test": data.test.y,
                "task": "classification", "shape": f"{X.shape[0]}×{X.shape[1]}"}
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        task = "classification"
    else:
        X, y = load_diabetes(return_X_y=True)
        task = "regression"
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    if task == "regression":
        mean, std = y.mean(), y.std()
        y, y_test = (y - mean) / std, (y_test - mean) / std
    return {"X": X, "y": y, "X_test": X_test, "y_test": y_test, "task": task,
            "shape": f"{X.shape[0]}×{X.shape[1]}"}


def estimator(contender: str, task: str, hidden: tuple[int, ...], max_iter: int, seed: int) -> Any:
    """The contender's estimator with its defaults, given hidden_layer_sizes, max_iter, random_state."""
    if contender == "scikit-learn":
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    else:
        from deltaprop.sklearn import MLPClassifier, MLPRegressor
    cls = MLPClassifier if task == "classification" else MLPRegressor
    extra = {"dtype": "float32"} if contender == "deltaprop float32" else {}
    return cls(hidden_layer_sizes=hidden, max_iter=max_iter, random_state=seed, **extra)


def measure(data: dict[str, Any], hidden: tuple[int, ...], max_iter: int,
            repeats: int, threads: int | None = None) -> dict[str, dict[str, list[float]]]:
    """Per contender: fit seconds, test scores and epochs of each repeat; ``threads``: the BLAS
    threads every contender may use (None: the libraries' default, every core)."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    results: dict[str, dict[str, list[float]]] = {
        c: {"seconds": [], "score": [], "epochs": []} for c in CONTENDERS}
    for r in range(repeats):
        order = CONTENDERS[r % len(CONTENDERS):] + CONTENDERS[:r % len(CONTENDERS)]
        for contender in order:
            model = estimator(contender, data["task"], hidden, max_iter, seed=r)
            with warnings.catch_warnings(), threadpool_limits(threads, user_api="blas"):
                warnings.simplefilter("ignore", ConvergenceWarning)
                started = time.perf_counter()
                model.fit(data["X"], data["y"])
                seconds = time.perf_counter() - started
            results[contender]["seconds"].append(seconds)
            results[contender]["score"].append(float(model.score(data["X_test"], data["y_test"])))
            results[contender]["epochs"].append(float(model.n_iter_))
            print(f"  repeat {r + 1}: {contender:18s} {seconds:8.2f} s  score "
                  f"{results[contender]['score'][-1]:.4f}  epochs {model.n_iter_}", file=sys.stderr)
    return results


def summary(name: str, data: dict[str, Any], results: dict[str, dict[str, list[float]]]) -> list[dict]:
    """One row per deltaprop contender: medians against scikit-learn's, and whether the goal is met."""
    med = {c: {k: statistics.median(v) for k, v in r.items()} for c, r in results.items()}
    base = med["scikit-learn"]
    rows = []
    for contender in CONTENDERS[1:]:
        ours = med[contender]
        speedup = statistics.median(  # paired: the fits of one repeat ran side by side
            theirs / mine for theirs, mine in zip(results["scikit-learn"]["seconds"],
                                                  results[contender]["seconds"], strict=True))
        points = 100 * (ours["score"] - base["score"])
        rows.append({
            "dataset": name, "shape": data["shape"], "metric": "R²" if data["task"] == "regression"
            else "accuracy", "contender": contender,
            "sklearn_seconds": base["seconds"], "seconds": ours["seconds"], "speedup": speedup,
            "sklearn_score": base["score"], "score": ours["score"], "points": points,
            "sklearn_epochs": base["epochs"], "epochs": ours["epochs"],
            "goal_met": speedup >= GOAL_SPEEDUP and points >= -GOAL_POINTS,
        })
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| data (train rows×features) | metric | contender | scikit-learn fit | deltaprop fit | "
             "speed-up | scikit-learn score | deltaprop score | epochs (sk / dp) | goal |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        lines.append(
            f"| {row['dataset']} ({row['shape']}) | {row['metric']} | {row['contender']} | "
            f"{row['sklearn_seconds']:.2f} s | {row['seconds']:.2f} s | {row['speedup']:.2f}× | "
            f"{row['sklearn_score']:.4f} | {row['score']:.4f} | "
            f"{row['sklearn_epochs']:.0f} / {row['epochs']:.0f} | "
            f"{'met' if row['goal_met'] else 'not met'} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/sklearn_compare.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", metavar="DIR", help="MNIST's IDX files (default: where bench/run.py "
                   "looks, $DELTAPROP_DATA/mnist or ../shared/data/mnist, else deltaprop's data "
                   "folder ~/.cache/deltaprop/mnist; skipped if absent)")
    p.add_argument("--datasets", default=",".join(DATASETS), help="subset of digits,mnist,diabetes")
    p.add_argument("--rows", type=int, default=20_000, help="MNIST training rows (default 20000)")
    p.add_argument("--repeats", type=int, default=3, help="fits per contender (default 3)")
    p.add_argument("--hidden", type=int, nargs="+", default=[100], help="hidden_layer_sizes (100)")
    p.add_argument("--max-iter", type=int, default=200, help="max_iter of every fit (default 200)")
    p.add_argument("--threads", type=int, help="BLAS threads of every fit, the same for every "
                   "contender (default: the libraries' own, one per core)")
    p.add_argument("--json", type=Path, help="also write the rows and every measurement here")
    return p


def main(argv: list[str] | None = None) -> list[dict]:
    args = parser().parse_args(argv)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if unknown := [n for n in names if n not in DATASETS]:
        parser().error(f"unknown data sets {unknown}: choose from {','.join(DATASETS)}")
    rows, raw = [], {}
    threads = args.threads or "default"
    print(f"CPU: {cpu_model()}; load average {os.getloadavg()[0]:.2f}; hidden_layer_sizes="
          f"{tuple(args.hidden)}, max_iter={args.max_iter}, {args.repeats} repeats, BLAS threads "
          f"{threads}", file=sys.stderr)
    for name in names:
        data = load(name, args.mnist, args.rows)
        if data is None:
            continue
        print(f"{name} ({data['shape']}):", file=sys.stderr)
        raw[name] = measure(data, tuple(args.hidden), args.max_iter, args.repeats, args.threads)
        rows += summary(name, data, raw[name])
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(markdown(rows))
    if args.json is not None:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "argv": argv or sys.argv[1:],
                                         "threads": args.threads, "rows": rows,
                                         "measurements": raw}, indent=1))
    return rows


if __name__ == "__main__":
    main()
