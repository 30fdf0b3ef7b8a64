"""What a training step costs beyond its matrix products and gathers: runs A and B, batch 10.

    python bench/floor.py                          # A and B, float64, 50,000 rows, 5 repeats
    python bench/floor.py --runs A --rows 20000 --repeat 3 --dtype float32

Per (run, dtype), interleaved for ``--repeat`` rounds on one BLAS thread (the runs' own count):

- **fit**: ``deltaprop.fit(net, X, y, epochs=1, ...)`` as bench/contenders.py times it, the whole
  call and its epoch as fit's history records it (the loop, without the input checks);
- **floor**: an epoch of only what no implementation of the step can leave out: each mini-batch's
  rows gathered by index into buffers (X, one-hot Y and the labels, as the trainer gathers them),
  and the step's five matrix products into preallocated arrays, the forward z^l = a^(l-1) (w^l)^T
  and the backward ∂C/∂w^l = (δ^l)^T a^(l-1) and δ^(l-1) = δ^l w^l (BP4 and BP2), with fixed
  operands: no activation, cost, bias, update or bookkeeping.

The fraction printed is fit's epoch / the floor (medians): 1.0 would be a step that costs nothing
but its products and gathers; the rest is the elementwise work (σ, σ', δ^L, the bias gradients, the
update), the epoch's sums, and the Python and numpy call overhead of some 35 calls a step.

    python bench/floor.py --floor-of 784,100,10 --batch-size 200 --rows 20000 --threads 2

times only the floor of another network's step (here the scikit-learn comparison's MNIST
estimator, docs/sklearn.md), and Adam's update of its parameters alone (scikit-learn's step, L2
term α = 1e-4), per mini-batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

RUN_NAMES = ("A", "B")


def floor_epoch(sizes: tuple[int, ...], batch_size: int, X: np.ndarray, labels: np.ndarray,
                seed: int = 1) -> float:
    """Seconds of one epoch of gathers and matrix products only (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    dtype, n, k = X.dtype, X.shape[0], batch_size
    Y = np.eye(sizes[-1], dtype=dtype)[labels]
    weights = [rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(dtype)
               for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    batch_X, batch_Y = np.empty((k, sizes[0]), dtype), np.empty((k, sizes[-1]), dtype)
    zs = [np.empty((k, size), dtype) for size in sizes[1:]]
    inputs = [batch_X] + [rng.random((k, size)).astype(dtype) for size in sizes[1:-1]]  # a^l
    deltas = [rng.normal(0, 0.1, (k, size)).astype(dtype) for size in sizes[1:]]
    nabla_w = [np.empty_like(w) for w in weights]
    started = time.perf_counter()
    order = rng.permutation(n)
    for start in range(0, n, k):
        rows = order[start:start + k]
        m = rows.shape[0]
        X.take(rows, axis=0, out=batch_X[:m], mode="clip")
        Y.take(rows, axis=0, out=batch_Y[:m], mode="clip")
        labels[rows]
        for i, w in enumerate(weights):
            np.dot(inputs[i][:m], w.T, out=zs[i][:m])
        for i in reversed(range(len(weights))):
            np.dot(deltas[i][:m].T, inputs[i][:m], out=nabla_w[i])
            if i > 0:
                np.dot(deltas[i][:m], weights[i], out=deltas[i - 1][:m])
    return time.perf_counter() - started


def measure(run_name: str, dtype: str, rows: int, repeat: int, mnist: str | None) -> dict:
    import contenders
    import datasource
    from runs import RUNS

    run = RUNS[run_name]
    X, y, source = datasource.load_rows(rows, dtype, mnist)
    contenders.fit_function()  # imported before anything is timed
    times: dict[str, list[float]] = {"fit": [], "epoch": [], "floor": []}
    for r in range(repeat):
        for which in (("fit", "floor") if r % 2 == 0 else ("floor", "fit")):
            if which == "floor":
                times["floor"].append(floor_epoch(run.sizes, run.batch_size, X, y, seed=r))
            else:
                seconds = contenders.time_deltaprop(run, X, y, dtype)
                times["fit"].append(seconds["deltaprop"])
                times["epoch"].append(seconds["deltaprop_epoch"])
    med = {key: statistics.median(values) for key, values in times.items()}
    batches = -(-rows // run.batch_size)
    return {"run": run_name, "sizes": list(run.sizes), "dtype": dtype, "rows": rows, "data": source,
            "fit": med["fit"], "epoch": med["epoch"], "floor": med["floor"],
            "fraction": med["epoch"] / med["floor"], "fit_fraction": med["fit"] / med["floor"],
            "us_per_batch": {key: 1e6 * value / batches for key, value in med.items()},
            "times": times}


def adam_step_seconds(sizes: tuple[int, ...], batch_size: int, dtype: str, steps: int = 100) -> float:
    """Seconds of one Adam step (scikit-learn's, with the L2 term) over a network's parameters,
    from a gradient vector laid out as ``Workspace.gradient`` (median of 7 runs of ``steps``)."""
    from deltaprop.optimizers import Adam
    from deltaprop.workspace import Workspace

    rng = np.random.default_rng(0)
    space = Workspace(sizes, np.dtype(dtype), batch_size)
    weights = [rng.normal(0, 0.05, w.shape).astype(dtype) for w in space.nabla_w]
    biases = [rng.normal(0, 0.05, b.shape).astype(dtype) for b in space.nabla_b]
    gradient = rng.normal(0, 1e-3, space.gradient.shape).astype(dtype)
    optimizer = Adam(0.001, 1e-4, 0.0, batch_size, sklearn_step=True)
    runs = []
    for with_step in (True, False) * 7:  # the copy of the gradient alone, timed and subtracted
        started = time.perf_counter()
        for _ in range(steps):
            np.copyto(space.gradient, gradient)
            if with_step:
                optimizer.step(weights, biases, space.nabla_w, space.nabla_b, space.gradient)
        runs.append((with_step, (time.perf_counter() - started) / steps))
    return (statistics.median(t for w, t in runs if w) - statistics.median(t for w, t in runs if not w))


def floor_of(sizes: tuple[int, ...], args: argparse.Namespace, mnist: str | None) -> None:
    import datasource

    X, y, source = datasource.load_rows(args.rows, args.dtype, mnist)
    batches = -(-args.rows // args.batch_size)
    floors = [floor_epoch(sizes, args.batch_size, X, y, seed=r) for r in range(args.repeat)]
    adam = adam_step_seconds(sizes, args.batch_size, args.dtype)
    print(f"{list(sizes)}, batch {args.batch_size}, {args.rows:,} rows ({source}), {args.dtype}, "
          f"{args.threads} BLAS thread(s), median of {args.repeat}: products and gathers "
          f"{1e3 * statistics.median(floors) / batches:.3f} ms a mini-batch; Adam's update of the "
          f"{sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True)):,} parameters "
          f"{1e3 * adam:.3f} ms")


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(prog="bench/floor.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default=",".join(RUN_NAMES), help="subset of A,B")
    p.add_argument("--dtype", default="float64", help="float64, float32, or both: float64,float32")
    p.add_argument("--rows", type=int, default=50_000, help="MNIST training rows (default 50000)")
    p.add_argument("--repeat", type=int, default=5, help="epochs per contender (default 5)")
    p.add_argument("--mnist", metavar="DIR", help="MNIST's IDX files (default: as bench/run.py)")
    p.add_argument("--floor-of", metavar="SIZES", help="only the floor of this network's step "
                   "(e.g. 784,100,10) and Adam's update of its parameters; no fit")
    p.add_argument("--batch-size", type=int, default=200, help="with --floor-of (default 200)")
    p.add_argument("--threads", type=int, default=1, help="with --floor-of: BLAS threads (default 1)")
    args = p.parse_args(argv)
    import datasource
    from threadpoolctl import threadpool_limits

    mnist = datasource.mnist_dir(args.mnist)
    if args.floor_of:
        with threadpool_limits(args.threads, user_api="blas"):
            floor_of(tuple(int(n) for n in args.floor_of.split(",")), args, mnist)
        return []
    rows = []
    print(f"load average {os.getloadavg()[0]:.2f}; 1 BLAS thread; median of {args.repeat}",
          file=sys.stderr)
    with threadpool_limits(1, user_api="blas"):
        for name in args.runs.split(","):
            for dtype in args.dtype.split(","):
                row = measure(name.strip(), dtype.strip(), args.rows, args.repeat, mnist)
                rows.append(row)
                us = row["us_per_batch"]
                print(f"  {name} {dtype}: fit {row['fit']:.3f} s (epoch {row['epoch']:.3f} s, "
                      f"{us['epoch']:.1f} µs a mini-batch), products and gathers {row['floor']:.3f} s "
                      f"({us['floor']:.1f} µs): {row['fraction']:.2f}×", file=sys.stderr)
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("| run | dtype | rows | data | deltaprop fit | its epoch | products + gathers | "
          "epoch / (products + gathers) | µs a mini-batch (epoch / floor) |")
    print("|---|--:|--:|---|--:|--:|--:|--:|--:|")
    for row in rows:
        us = row["us_per_batch"]
        print(f"| {row['run']} {row['sizes']} | {row['dtype']} | {row['rows']:,} | {row['data']} | "
              f"{row['fit']:.3f} s | {row['epoch']:.3f} s | {row['floor']:.3f} s | "
              f"{row['fraction']:.2f}× | {us['epoch']:.1f} / {us['floor']:.1f} |")
    return rows


if __name__ == "__main__":
    main()
