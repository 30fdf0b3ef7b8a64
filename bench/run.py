"""deltaprop's benchmark suite: one training epoch against PyTorch, scikit-learn and the book's loop.

    python bench/run.py                 # the quick suite (1-3 minutes): what it runs is printed first
    python bench/run.py --full          # everything: full rows, 5 repeats, memory, end to end
    python bench/run.py --runs A --dtype float64 --rows 2000 --repeat 3 --no-memory --no-e2e
    python bench/run.py --from-json bench/results/latest.json --markdown   # tables of earlier results

Runs (docs/benchmarks.md says what each measures): A [784,30,10] and B [784,100,10] sigmoid +
quadratic, batch 10, 1 thread, float64 and float32, against PyTorch, scikit-learn and the book's
loop; C [784,1024,1024,10] sigmoid, batch 256 and D [784,256,128,10] ReLU + softmax + log-likelihood
+ momentum 0.9, batch 64, float32, 2 threads, against PyTorch; the peak memory a fit adds; and
``deltaprop train`` against a PyTorch script, end to end. Every (run, dtype) is timed in a fresh
subprocess, contenders interleaved, medians kept. Results go to --json (default
bench/results/latest.json) after every measurement; Ctrl-C stops with the results so far saved.

Without PyTorch (the main install has no test extras) one line says so and the suite runs the
other contenders, without the end-to-end pair. This folder is not part of the installed package;
``deltaprop bench`` runs ``main`` here (its usage line then says ``deltaprop bench``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # siblings import as top-level modules, also under runpy/importlib
    sys.path.insert(0, str(HERE))

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any  # noqa: E402

import datasource  # noqa: E402
import report as tables  # noqa: E402
import results  # noqa: E402
import runs  # noqa: E402
import suite  # noqa: E402

from deltaprop.cli._common import Parser, UsageError, fail  # noqa: E402

DEFAULT_JSON = HERE / "results" / "latest.json"
#: How the usage line names the suite: as a script, or as the command line's ``deltaprop bench``.
PROG = "bench/run.py" if __name__ == "__main__" else "deltaprop bench"
#: What runs the PyTorch contender and the end-to-end PyTorch script: the test extras.
TORCH_EXTRA = "pip install -e '.[test]'"


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the full suite (default: the quick one)")
    p.add_argument("--runs", help="runs to time, a subset of A,B,C,D ('none': no timed runs)")
    p.add_argument("--dtype", help="dtypes for every selected run (default: each run's own)")
    p.add_argument("--rows", type=int, help="training rows of every run (default: the suite's)")
    p.add_argument("--repeat", type=int, help="epochs timed per contender (default: quick 3, full 5)")
    p.add_argument("--threads", type=int, help="threads for every run (default: A, B 1; C, D 2)")
    p.add_argument("--book-rows", type=int, help="rows the book's loop runs on before "
                   "extrapolating (default: quick 2000, full 5000)")
    p.add_argument("--contenders", default=",".join(runs.CONTENDERS),
                   help=f"subset of {','.join(runs.CONTENDERS)} (default: all)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--no-e2e", action="store_true", help="skip the end-to-end comparison")
    p.add_argument("--e2e-repeat", type=int, help="end-to-end pairs run (default: quick 1, full 5)")
    p.add_argument("--mnist", metavar="DIR", help="MNIST's IDX files (default: $DELTAPROP_DATA/mnist, "
                   "else ../shared/data/mnist from the repository root, else random data)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where the results are written "
                   "(default: bench/results/latest.json)")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--from-json", type=Path, metavar="PATH",
                   help="print the tables of an earlier results file; measure nothing")
    return p


def select(args: argparse.Namespace, error: Any) -> runs.Suite:
    """The suite the options ask for: --full or quick, then each option overriding it."""
    chosen = runs.full_suite() if args.full else runs.quick_suite()
    if args.runs is not None:
        names = [] if args.runs.lower() == "none" else [n.upper() for n in _csv(args.runs)]
        if unknown := [n for n in names if n not in runs.RUNS]:
            error(f"unknown runs {unknown}: choose from {','.join(runs.RUNS)}")
        by_name = {run.name: run for run in chosen.runs}
        chosen.runs = [by_name[n] for n in names]
        chosen.memory = [n for n in names if n in runs.MEMORY_RUNS]
    contenders = _csv(args.contenders)
    dtypes = _csv(args.dtype) if args.dtype else None
    if unknown := [c for c in contenders if c not in runs.CONTENDERS] + [
            d for d in dtypes or () if d not in runs.DTYPES]:
        error(f"unknown contenders or dtypes: {unknown}")
    for number in ("rows", "repeat", "threads", "book_rows", "e2e_repeat"):
        if getattr(args, number) is not None and getattr(args, number) < 1:
            error(f"--{number.replace('_', '-')} must be at least 1")
    chosen.runs = [replace(run, rows=args.rows or run.rows, threads=args.threads or run.threads,
                          dtypes=tuple(dtypes or run.dtypes),
                          contenders=tuple(c for c in run.contenders if c in contenders))
                  for run in chosen.runs]
    chosen.repeat = args.repeat or chosen.repeat
    chosen.book_rows = args.book_rows or chosen.book_rows
    chosen.memory = [] if args.no_memory else chosen.memory
    chosen.memory_rows = args.rows or chosen.memory_rows
    chosen.e2e_repeat = 0 if args.no_e2e else (args.e2e_repeat or chosen.e2e_repeat)
    return chosen


def without_torch(chosen: runs.Suite) -> None:
    """When PyTorch is not installed (the main install has no test extras): the runs without its
    contender and no end-to-end pair (its other half is a PyTorch script), said in one line."""
    try:
        if importlib.util.find_spec("torch") is not None:
            return
    except ImportError:  # a finder that refuses it, or a broken install: not usable either
        pass
    wanted = any("torch" in run.contenders for run in chosen.runs) or chosen.e2e_repeat
    chosen.runs = [replace(run, contenders=tuple(c for c in run.contenders if c != "torch"))
                   for run in chosen.runs]
    chosen.e2e_repeat = 0
    if wanted:
        print(f"PyTorch is not installed: its contender and the end-to-end pair are skipped (they need "
              f"the test extras: {TORCH_EXTRA})")


def measure(args: argparse.Namespace, chosen: runs.Suite, console: Any) -> tuple[dict[str, Any], int]:
    """Run the suite; (report, exit status): 0 done, 1 a measurement failed, 130 interrupted."""
    mnist = datasource.mnist_dir(args.mnist)
    command = shlex.join(["python", "bench/run.py", *args.argv])
    settings = {"repeat": chosen.repeat, "book_rows": chosen.book_rows, "mnist": mnist}
    report = results.new_report(chosen.name, command, settings)
    session = suite.Session(chosen, report, args.json, mnist, console, args.threads)
    suite.announce(session, args.mnist)
    return report, suite.run_suite(session)


def show(report: dict[str, Any], markdown: bool, console: Any) -> None:
    if markdown:
        print(tables.markdown(report), end="")
    else:
        tables.print_rich(report, console)


def main(argv: list[str] | None = None) -> int:
    """Run the suite (or print earlier results); 0 done, 1 a measurement failed, 130 Ctrl-C."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser()
    args = p.parse_args(argv)
    args.argv = argv
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 160)
    if args.from_json:
        show(json.loads(args.from_json.read_text()), args.markdown, console)
        return 0
    chosen = select(args, p.error)
    without_torch(chosen)
    try:
        report, code = measure(args, chosen, console)
    except KeyboardInterrupt:  # before the first result was saved
        print("interrupted: nothing measured yet")
        return suite.INTERRUPTED
    if code == suite.INTERRUPTED:
        print(f"interrupted: the results so far are in {args.json}")
        return code
    show(report, args.markdown, console)
    console.print(f"{chosen.name} suite took {report['seconds']:.0f} s; results in {args.json}",
                  highlight=False, markup=False)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UsageError as error:
        sys.exit(fail(str(error)))
