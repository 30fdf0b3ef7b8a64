"""deltaprop's command line on tables against scikit-learn's pipeline, both with their defaults.

For each of scikit-learn's bundled tables (iris, wine, breast cancer, digits as a table of 64 raw
0..16 columns), written to a CSV whose label column is scikit-learn's ``target``:

- deltaprop: ``deltaprop train --data FILE.csv --seed S`` with every other option at its default (a
  [n, 30, k] sigmoid network, cross-entropy, SGD, 30 epochs, the standard scaling fitted on the
  training rows, the best validation epoch kept), its test accuracy from ``--json``;
- scikit-learn: ``make_pipeline(StandardScaler(), MLPClassifier(random_state=S))`` fitted on the
  same training rows (``deltaprop.datasets.load_csv(FILE, seed=S)``: the split the command used) and
  scored on the same test rows.

Accuracies are the mean over the seeds (a test split of iris holds 22 rows: one row is 4.5 points);
times are medians: deltaprop's training time as the command reports it (``seconds``: the epochs,
with their validation and test passes) and the command's whole wall time (Python's start, reading,
training, writing the run folder), scikit-learn's the pipeline's fit. Prints one Markdown table.

    python bench/tables.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.datasets import load_csv

TABLES = ("iris", "wine", "breast_cancer", "digits")


def write_table(name: str, folder: Path) -> Path:
    """scikit-learn's bundled table ``name`` as ``folder/name.csv``: its feature names, then ``target``."""
    bunch = getattr(datasets, f"load_{name}")()
    columns = [str(feature).replace(",", " ") for feature in bunch.feature_names]
    path = folder / f"{name}.csv"
    table = np.column_stack([bunch.data, bunch.target])
    np.savetxt(path, table, delimiter=",", header=",".join([*columns, "target"]), comments="",
               fmt=["%.10g"] * len(columns) + ["%d"])
    return path


def deltaprop_run(path: Path, seed: int, folder: Path) -> tuple[float, float, float]:
    """(test accuracy, training seconds, wall seconds) of ``deltaprop train`` with its defaults."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--data", str(path), "--seed", str(seed),
         "--out", str(folder / f"{path.stem}-{seed}"), "--json", "--quiet", "--no-plots"],
        capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    outcome = json.loads(result.stdout)
    return outcome["test_accuracy"], outcome["seconds"], seconds


def scikit_learn_run(path: Path, seed: int) -> tuple[float, float]:
    """(test accuracy, seconds of the fit) of scikit-learn's pipeline on the command's split."""
    data = load_csv(path, seed=seed)
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 200 iterations, as it defaults to
        model.fit(*data.train)
    seconds = time.perf_counter() - started
    return float(model.score(*data.test)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/tables.py", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1 (default: 10)")
    seeds = range(parser.parse_args().seeds)
    print("| table | rows x features | deltaprop train accuracy | scikit-learn accuracy | "
          "deltaprop training s | deltaprop command s | scikit-learn fit s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for name in TABLES:
            path = write_table(name, folder)
            ours, theirs = [], []
            for seed in seeds:  # interleaved: one of each per seed
                ours.append(deltaprop_run(path, seed, folder))
                theirs.append(scikit_learn_run(path, seed))
            bunch = getattr(datasets, f"load_{name}")()
            rows, features = bunch.data.shape
            print(f"| {name} | {rows} x {features} | {100 * np.mean([a for a, _, _ in ours]):.2f}% | "
                  f"{100 * np.mean([a for a, _ in theirs]):.2f}% | "
                  f"{statistics.median(s for _, s, _ in ours):.2f} | "
                  f"{statistics.median(s for _, _, s in ours):.2f} | "
                  f"{statistics.median(s for _, s in theirs):.2f} |")


if __name__ == "__main__":
    main()
