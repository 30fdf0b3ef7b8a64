"""Reproduce the book's MNIST table (docs/results.md): run each row's command, one at a time, and
summarize the results.

    python bench/mnist_table.py                      # every row, seeds 0 1 2, then the summary
    python bench/mnist_table.py --rows ch1-30 --seeds 0
    python bench/mnist_table.py --summary-only       # just read the JSON files already there
    python bench/mnist_table.py --dry-run            # print the commands

Each run is ``deltaprop train ... --seed S --json --no-plots --quiet --out RESULTS/<row>-s<S>``
with its JSON summary in ``RESULTS/<row>-s<S>.json`` (stderr in ``.log``); a run whose JSON file
is already there is not run again, so an interrupted table resumes where it stopped. Runs go
strictly one after another, with single-threaded BLAS (OMP/OPENBLAS/MKL_NUM_THREADS=1), so the
timings are those of one core.

Run from the repository root (the MNIST files are read from ``../shared/data/mnist`` by default).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DATA = ["--data", "mnist", "--data-dir", "../shared/data/mnist"]
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    book: float | None  # the book's figure, in percent
    options: tuple[str, ...]


ROWS = [
    Row("ch1-30", "[784,30,10] sigmoid, quadratic, η=3.0, batch 10, 30 epochs, init large", 95.42,
        ("--hidden", "30", "--activation", "sigmoid", "--cost", "quadratic", "--init", "large",
         "--eta", "3.0", "--batch-size", "10", "--epochs", "30")),
    Row("ch1-100", "[784,100,10] sigmoid, quadratic, η=3.0, batch 10, 30 epochs, init large", 96.59,
        ("--hidden", "100", "--activation", "sigmoid", "--cost", "quadratic", "--init", "large",
         "--eta", "3.0", "--batch-size", "10", "--epochs", "30")),
    Row("ch3-30-xent", "[784,30,10] sigmoid, cross-entropy, η=0.5, batch 10, 30 epochs", 95.49,
        ("--hidden", "30", "--activation", "sigmoid", "--cost", "cross_entropy", "--init", "default",
         "--eta", "0.5", "--batch-size", "10", "--epochs", "30")),
    Row("ch3-100-l2", "[784,100,10] sigmoid, cross-entropy, η=0.5, λ=5.0, batch 10, 30 epochs", 97.92,
        ("--hidden", "100", "--activation", "sigmoid", "--cost", "cross_entropy", "--init", "default",
         "--eta", "0.5", "--lmbda", "5.0", "--batch-size", "10", "--epochs", "30")),
    Row("ch3-100-l2-60", "[784,100,10] sigmoid, cross-entropy, η=0.1, λ=5.0, batch 10, 60 epochs", 98.04,
        ("--hidden", "100", "--activation", "sigmoid", "--cost", "cross_entropy", "--init", "default",
         "--eta", "0.1", "--lmbda", "5.0", "--batch-size", "10", "--epochs", "60")),
    # Chapter 3 as the book ran it: network2.py, but after net.large_weight_initializer().
    Row("ch3-30-xent-large", "[784,30,10] sigmoid, cross-entropy, η=0.5, batch 10, 30 epochs, init large",
        95.49,
        ("--hidden", "30", "--activation", "sigmoid", "--cost", "cross_entropy", "--init", "large",
         "--eta", "0.5", "--batch-size", "10", "--epochs", "30")),
    Row("ch3-100-l2-large", "[784,100,10] sigmoid, cross-entropy, η=0.5, λ=5.0, batch 10, 30 epochs, "
        "init large", 97.92,
        ("--hidden", "100", "--activation", "sigmoid", "--cost", "cross_entropy", "--init", "large",
         "--eta", "0.5", "--lmbda", "5.0", "--batch-size", "10", "--epochs", "30")),
    Row("ch3-100-l2-60-large", "[784,100,10] sigmoid, cross-entropy, η=0.1, λ=5.0, batch 10, 60 epochs, "
        "init large", 98.04,
        ("--hidden", "100", "--activation", "sigmoid", "--cost", "cross_entropy", "--init", "large",
         "--eta", "0.1", "--lmbda", "5.0", "--batch-size", "10", "--epochs", "60")),
    Row("ours", "[784,1024,10] ReLU, softmax + log-likelihood, init he, momentum 0.9, η=0.1, λ=5, "
        "dropout 0.5, batch 128, 30 epochs, --schedule 3", None,
        ("--hidden", "1024", "--activation", "relu", "--output-activation", "softmax",
         "--cost", "log_likelihood", "--init", "he", "--momentum", "0.9", "--eta", "0.1",
         "--lmbda", "5", "--dropout", "0.5", "--batch-size", "128", "--epochs", "30",
         "--schedule", "3")),
]


def deltaprop_command(src: Path | None = None) -> list[str]:
    """``python -m deltaprop`` when running a given source tree, else the deltaprop executable of
    this interpreter's environment."""
    script = Path(sys.executable).parent / "deltaprop"
    if src is None and script.exists():
        return [str(script)]
    return [sys.executable, "-m", "deltaprop"]


def run_arguments(row: Row, seed: int, results: Path) -> list[str]:
    return ["train", *DATA, *row.options, "--seed", str(seed),
            "--json", "--no-plots", "--quiet", "--out", str(results / f"{row.name}-s{seed}")]


def shown_command(row: Row, seed: int | str, results: Path) -> str:
    """The command as written in docs/results.md."""
    arguments = run_arguments(row, 0, results)
    arguments[arguments.index("--seed") + 1] = str(seed)
    arguments[-1] = str(results / f"{row.name}-s{seed}")
    return "deltaprop " + " ".join(shlex.quote(a) for a in arguments)


def run_one(row: Row, seed: int, results: Path, src: Path | None = None) -> dict | None:
    target = results / f"{row.name}-s{seed}.json"
    existing = read_result(target)
    if existing is not None:
        print(f"{target.name}: already there, not run again", flush=True)
        return existing
    command = deltaprop_command(src) + run_arguments(row, seed, results)
    env = {**os.environ, **THREADS}
    if src is not None:  # a frozen export of one commit, ahead of the installed (editable) package
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    print(f"$ {' '.join(shlex.quote(a) for a in command)}", flush=True)
    started = time.perf_counter()
    with open(target.with_suffix(".tmp"), "w") as out, open(target.with_suffix(".log"), "w") as err:
        status = subprocess.run(command, stdout=out, stderr=err, env=env, check=False).returncode
    wall = time.perf_counter() - started
    if status != 0:
        print(f"  failed with status {status}; see {target.with_suffix('.log')}", flush=True)
        return None
    target.with_suffix(".tmp").rename(target)
    result = read_result(target)
    print(f"  best test {result['best_test_accuracy']:.2%}, final {result['test_accuracy']:.2%}, "
          f"{result['seconds']:.0f} s of training ({wall:.0f} s in all)", flush=True)
    return result


def read_result(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def test_at_best_validation(result: dict) -> float | None:
    """Test accuracy at the epoch of best validation accuracy (first such epoch)."""
    records = [r for r in result["history"] if r.get("validation_accuracy") is not None]
    if not records:
        return None
    best = max(records, key=lambda r: r["validation_accuracy"])
    return best["test_accuracy"]


def spread(values: list[float]) -> str:
    """'mean (min–max, sd s)' in percent; sd is the sample standard deviation (n − 1)."""
    values = [100 * v for v in values]
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.2f}"
    return (f"{mean:.2f} ({min(values):.2f}–{max(values):.2f}, "
            f"sd {statistics.stdev(values):.2f})")


def summarize(rows: list[Row], seeds: list[int], results: Path) -> str:
    lines = ["| row | book | best test | final test | test at best val. | best val. | seconds/run | "
             "per seed (best test) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        found = {s: r for s in seeds if (r := read_result(results / f"{row.name}-s{s}.json"))}
        if not found:
            continue
        runs = list(found.values())
        per_seed = ", ".join(f"s{s}: {100 * r['best_test_accuracy']:.2f}" for s, r in found.items())
        at_val = [v for r in runs if (v := test_at_best_validation(r)) is not None]
        book = f"{row.book:.2f}" if row.book is not None else "—"
        seconds = statistics.fmean(r["seconds"] for r in runs)
        lines.append(
            f"| {row.name} | {book} | {spread([r['best_test_accuracy'] for r in runs])} | "
            f"{spread([r['test_accuracy'] for r in runs])} | "
            f"{spread(at_val) if at_val else '—'} | "
            f"{spread([r['best_validation_accuracy'] for r in runs])} | "
            f"{seconds:.0f} | {per_seed} |"
        )
    return "\n".join(lines)


def details(rows: list[Row], seeds: list[int], results: Path) -> str:
    """One line per run: best test accuracy and its epoch, final test accuracy, best validation
    accuracy and its epoch, test accuracy at that epoch, training seconds."""
    lines = ["| row | seed | best test (epoch) | final test | best val. (epoch) | test at best val. | "
             "seconds |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        for seed in seeds:
            result = read_result(results / f"{row.name}-s{seed}.json")
            if result is None:
                continue
            test = [r["test_accuracy"] for r in result["history"]]
            val = [r["validation_accuracy"] for r in result["history"]]
            t, v = test.index(max(test)), val.index(max(val))
            lines.append(f"| {row.name} | {seed} | {100 * test[t]:.2f} ({t + 1}) | {100 * test[-1]:.2f} | "
                         f"{100 * val[v]:.2f} ({v + 1}) | {100 * test[v]:.2f} | "
                         f"{result['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=[row.name for row in ROWS],
                        choices=[row.name for row in ROWS], metavar="ROW")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--results", type=Path, default=Path("/tmp/results"))
    parser.add_argument("--src", type=Path, default=None,
                        help="run the deltaprop package in this folder (e.g. a 'git archive' export "
                             "of one commit's src/) instead of the installed one")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the summary here")
    args = parser.parse_args(argv)
    rows = [row for row in ROWS if row.name in args.rows]
    if args.dry_run:
        for row in rows:
            print(f"# {row.label}\n{shown_command(row, '<seed>', args.results)}")
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    if not args.summary_only:
        for row in rows:
            for seed in args.seeds:
                run_one(row, seed, args.results, args.src)
    summary = summarize(rows, args.seeds, args.results) + "\n\n" + details(rows, args.seeds, args.results)
    print(summary)
    if args.markdown is not None:
        args.markdown.write_text(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
