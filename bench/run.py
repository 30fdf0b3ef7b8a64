"""Benchmark suite: one training epoch of deltaprop vs PyTorch, scikit-learn and the book's loop.

    python bench/run.py [--runs A,B] [--dtype float64,float32] [--repeat 5] [--threads N]
                        [--contenders deltaprop,readable,torch,sklearn,book]
                        [--no-memory] [--no-book-run] [--mnist DIR] [--rows N] [--json out.json]
    python bench/run.py --profile [--runs A,B] [--dtype float64,float32]   # µs of one step

A thin wrapper: the suite lives in ``deltaprop.benchmark`` (see its docstring for what is timed and
how); results, when written, go where --json says (bench/results/ is ignored by git).
"""

import sys
from pathlib import Path

try:
    from deltaprop.benchmark import main
except ImportError:  # run from a checkout without installing: use the src/ next to this file
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from deltaprop.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
