"""Peak memory of the largest inputs deltaprop accepts at its limits (Linux), for docs/limits.md.

    python bench/limits_memory.py

Builds in a temporary folder what each limit lets through at its largest: the largest image
``predict`` accepts (4096 x 4096 RGBA: ``MAX_IMAGE_PIXELS``) and the longest (40,000 x 400 gray: the
aspect ``MAX_IMAGE_ASPECT``), for a model of 28 x 28 inputs; and the largest run folders the
report accepts (``largest_run``: a ``history.json`` just under ``MAX_HISTORY_BYTES``, a
``snapshots.npz`` of ``MAX_SNAPSHOT_EPOCHS`` epochs of ``MAX_SNAPSHOT_BINS`` random bars per layer
with random first-layer weights, ``MAX_REPORT_CLASSES`` classes with data to draw), with 12 layers
and 28 x 28 images, and with ``MAX_LAYERS`` layers. Each command runs alone in a fresh process,
started from a small interpreter (``WRAPPER``); its peak resident set is its ``ru_maxrss``. Prints
one line per measurement: the input, its size, the peak resident set, the seconds, and for the
report the page's size against ``MAX_REPORT_BYTES``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from deltaprop import io, limits
from deltaprop.network import Network
from deltaprop.recording import MAX_IMAGE_UNITS, QUANTITIES, Snapshots

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def largest_run(folder: Path, side: int = 28, layers: int = 12,
                classes: int = limits.MAX_REPORT_CLASSES) -> None:
    """A run folder at every limit the report's size depends on: a history.json just under
    ``MAX_HISTORY_BYTES`` (records with one value per layer), ``MAX_SNAPSHOT_EPOCHS`` snapshots of
    ``MAX_SNAPSHOT_BINS`` random bars per layer and quantity, random first-layer weights of
    ``MAX_IMAGE_UNITS`` units of ``side`` x ``side`` images (noise compresses worst), more layers than
    ``MAX_REPORT_LAYERS``, ``MAX_REPORT_CLASSES`` classes, data to draw a confusion matrix and examples
    from, and a config.json near its limit."""
    folder.mkdir(parents=True)
    sizes = [side * side] + [MAX_IMAGE_UNITS] * (layers - 1) + [classes]
    rng = np.random.default_rng(0)
    data = folder.parent / "data.npz"
    np.savez(data, X=rng.random((600, side * side)), y=np.arange(600) % classes)
    io.save(Network(sizes, seed=0), folder / "model.safetensors", extra_metadata={
        "dataset": "noise", "data_spec": str(data), "image_shape": [side, side], "n_classes": classes})
    per_layer = len(sizes) - 1
    record = {"epoch": 1, "eta": 0.5, "seconds": 0.01234567, "train_cost": 1.23456789,
              "train_accuracy": 0.5, "validation_cost": 1.23456789, "validation_accuracy": 0.5,
              "test_cost": 1.23456789, "test_accuracy": 0.5, "learning_speed": [0.123456789] * per_layer,
              "saturation": [0.5] * per_layer}
    count = min(limits.MAX_HISTORY_RECORDS, (limits.MAX_HISTORY_BYTES - 100) // (len(json.dumps(record)) + 8))
    records = [{**record, "epoch": i + 1} for i in range(count)]
    (folder / "history.json").write_text(json.dumps({"records": records, "stop_reason": "completed"}))
    epochs = list(range(limits.MAX_SNAPSHOT_EPOCHS))
    snapshots = Snapshots(sizes, 200, epochs, image_shape=(side, side), first_layer=[])
    bins = limits.MAX_SNAPSHOT_BINS
    for q in QUANTITIES:
        snapshots.counts[q] = [rng.integers(0, 10**6, (per_layer, bins)) for _ in epochs]
        snapshots.edges[q] = [np.sort(rng.normal(size=(per_layer, bins + 1)), axis=1) for _ in epochs]
    snapshots.first_layer = [rng.normal(size=(MAX_IMAGE_UNITS, sizes[0])).astype(np.float32) for _ in epochs]
    snapshots.save(folder / "snapshots.npz")
    config = {"command": "train", "training": {f"option {i}": "v" * 900 for i in range(100)}}
    (folder / "config.json").write_text(json.dumps(config))


def largest_images(folder: Path) -> dict[str, Path]:
    """The largest PNG predict accepts (every pixel RGBA) and the longest (aspect at its limit),
    with a model of 28 x 28 inputs to predict with; {name: path}."""
    from PIL import Image

    side = int(limits.MAX_IMAGE_PIXELS**0.5)
    short = 400
    paths = {"model": folder / "model.safetensors", "largest": folder / "largest.png",
             "longest": folder / "longest.png"}
    io.save(Network([784, 30, 10], seed=0), paths["model"],
            extra_metadata={"dataset": "mnist", "image_shape": [28, 28], "n_classes": 10})
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 4), dtype=np.uint8)
    Image.fromarray(noise, "RGBA").save(paths["largest"], compress_level=1)
    strip = np.zeros((short * limits.MAX_IMAGE_ASPECT, short), dtype=np.uint8)
    strip[::7, ::3] = 255
    Image.fromarray(strip, "L").save(paths["longest"])
    return paths


#: Runs a command and prints its peak resident set (KiB). Linux gives a new process the peak of the
#: process it was forked from (``ru_maxrss`` is kept across fork and exec), so each command is started
#: from this small interpreter, never from the benchmark's own (which holds the inputs it built).
WRAPPER = ("import resource, subprocess, sys\n"
           "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
           "sys.exit(code)\n")


def peak(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(peak resident set in bytes, seconds) of ``argv`` run alone; AssertionError if it fails."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", WRAPPER, *argv], cwd=cwd, env=ENV, capture_output=True,
                            text=True, errors="replace")
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited with {result.returncode}: {result.stderr[-500:]}")
    return int(result.stdout.split()[-1]) * 1024, seconds


def python(code: str) -> list[str]:
    """The command that runs ``code`` in this interpreter."""
    return [sys.executable, "-c", code]


def cpu_model() -> str:
    """lscpu's model name (the processor), or the platform's."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    return next((line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith("Model name")), "unknown")


def show(what: str, size: float, measured: tuple[float, float], note: str = "") -> None:
    """One line of the table."""
    rss, seconds = measured
    print(f"{what:<46} {limits.format_bytes(size):>9} {limits.format_bytes(rss):>9} {seconds:6.1f} s  {note}",
          flush=True)


def main() -> None:
    """Build the inputs, measure each, print the table."""
    print(f"{cpu_model()}; Python {platform.python_version()}; peak resident set of one process")
    print(f"{'input':<46} {'size':>9} {'peak RSS':>9} {'time':>8}")
    with tempfile.TemporaryDirectory(prefix="deltaprop-limits-") as temp:
        root = Path(temp)
        show("python -c 'import deltaprop.cli' (the floor)", 0, peak(python("import deltaprop.cli"), root))
        images = largest_images(root)
        for name, label in (("largest", "4096 x 4096 RGBA"), ("longest", "40,000 x 400 gray")):
            for prepare in ("digit", "resize"):
                argv = [sys.executable, "-m", "deltaprop", "predict", str(images["model"]),
                        str(images[name]), "--prepare", prepare, "--json"]
                show(f"predict {label}, --prepare {prepare}", images[name].stat().st_size, peak(argv, root))
        for side, layers in ((28, 12), (10, limits.MAX_LAYERS)):
            folder = root / f"run-{layers}"
            largest_run(folder, side, layers)
            for name, reader in (("snapshots.npz", "deltaprop.recording import Snapshots; Snapshots.load"),
                                 ("history.json", "deltaprop.run_schema import read_history; read_history")):
                path = folder / name
                show(f"{name}, {layers:,} layers (alone)", path.stat().st_size,
                     peak(python(f"from {reader}({str(path)!r})"), root))
            measured = peak([sys.executable, "-m", "deltaprop", "report", str(folder)], root)
            page = (folder / "report.html").stat().st_size
            show(f"report of that run folder ({layers:,} layers)", sum(
                p.stat().st_size for p in folder.iterdir() if p.name != "report.html"), measured,
                 f"page {limits.format_bytes(page)} (bound {limits.format_bytes(limits.MAX_REPORT_BYTES)})")


if __name__ == "__main__":
    main()
