"""Seconds to prepare a photo of a digit (``deltaprop predict --prepare digit``), per photo.

    python bench/photo_prepare.py                    # 50 photos, 200 x 200, PNG, 5 repeats
    python bench/photo_prepare.py --side 1000 --photos 20 --format jpg

Each photo is one of scikit-learn's bundled 8x8 digits enlarged to ``--side`` pixels a side: dark
ink on unevenly lit, noisy paper (a gradient and Gaussian noise), with a margin of paper, saved in
a temporary folder. Per photo, interleaved over ``--repeat`` rounds, two times are taken: **read**,
``deltaprop.datasets.inputs.read_image`` (decoding from the header on, and the preparation, as
``predict`` does it for an MNIST model: a 28x28 input), and **prepare**,
``deltaprop.datasets.images.prepare_digit`` alone on the decoded gray levels. The medians over all
photos and rounds are printed, in milliseconds, beside the target (20 ms per 200 x 200 photo).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_MS = 20.0
SHAPE = (28, 28)


def photos(count: int, side: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` gray photos (side, side) in [0, 1]: bundled digits as dark ink on uneven paper."""
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits().images / 16
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:side, 0:side] / side
    made = []
    for k in range(count):
        ink = ndimage.zoom(np.pad(digits[k % len(digits)], 1), side / 10, order=1)[:side, :side]
        paper = 0.55 + 0.32 * columns + 0.1 * rows
        made.append((paper * (1 - 0.8 * ink.clip(0, 1)) + rng.normal(0, 0.03, ink.shape)).clip(0, 1))
    return made


def save_all(images: list[np.ndarray], folder: Path, suffix: str) -> list[Path]:
    """The images as 8-bit grayscale files ``0.suffix``, ``1.suffix``... in ``folder``."""
    from PIL import Image

    paths = []
    for k, gray in enumerate(images):
        path = folder / f"{k}.{suffix}"
        Image.fromarray((gray * 255).round().astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def measure(paths: list[Path], repeat: int) -> dict[str, list[float]]:
    """Seconds of read_image and of prepare_digit alone, per photo and round."""
    from deltaprop.datasets.imagefiles import decode_gray
    from deltaprop.datasets.images import prepare_digit
    from deltaprop.datasets.inputs import read_image

    decoded = [decode_gray(path) for path in paths]
    times: dict[str, list[float]] = {"read": [], "prepare": []}
    for _ in range(repeat):
        for path, gray in zip(paths, decoded, strict=True):
            started = time.perf_counter()
            read_image(path, SHAPE)
            times["read"].append(time.perf_counter() - started)
            started = time.perf_counter()
            prepare_digit(gray, SHAPE)
            times["prepare"].append(time.perf_counter() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/photo_prepare.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=50, help="photos prepared per round (default: 50)")
    p.add_argument("--side", type=int, default=200, help="pixels a side of each photo (default: 200)")
    p.add_argument("--repeat", type=int, default=5, help="rounds over all the photos (default: 5)")
    p.add_argument("--format", choices=("png", "jpg", "bmp", "webp"), default="png",
                   help="file format of the photos (default: png)")
    args = p.parse_args(argv)
    if min(args.photos, args.side, args.repeat) < 1:
        p.error("--photos, --side and --repeat must be at least 1")
    with tempfile.TemporaryDirectory() as folder:
        paths = save_all(photos(args.photos, args.side), Path(folder), args.format)
        times = measure(paths, args.repeat)
    count = len(times["read"])
    for name, values in times.items():
        print(f"{name}: median {1000 * statistics.median(values):.1f} ms per {args.side} x {args.side} "
              f"{args.format} photo ({count} timings)")
    if args.side == 200:
        met = 1000 * statistics.median(times["read"]) <= TARGET_MS
        print(f"target: read <= {TARGET_MS:g} ms per 200 x 200 photo: {'met' if met else 'not met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
