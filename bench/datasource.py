"""The benchmark's data: MNIST's training rows read from its IDX files, or random data of the same
shape when no MNIST folder is found (the report then says so).

Where MNIST is looked for, in order: ``--mnist DIR``; ``$DELTAPROP_DATA/mnist``; ``../shared/data/mnist``
relative to the repository root (the folder holding ``bench/``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
ALL_STEMS = STEMS["train"] + STEMS["test"]


def _idx_file(directory: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def candidates(explicit: str | None = None) -> list[Path]:
    """The folders looked in, in order."""
    if explicit:
        return [Path(explicit).expanduser()]
    found = []
    if os.environ.get("DELTAPROP_DATA"):
        found.append(Path(os.environ["DELTAPROP_DATA"]).expanduser() / "mnist")
    found.append(REPO.parent / "shared" / "data" / "mnist")
    return found


def mnist_dir(explicit: str | None = None) -> str | None:
    """The first candidate folder holding all four MNIST IDX files (absolute), or None."""
    for directory in candidates(explicit):
        if all(_idx_file(directory, stem) for stem in ALL_STEMS):
            return str(directory.resolve())
    return None


def load_rows(rows: int, dtype: str, mnist: str | None, split: str = "train"
              ) -> tuple[np.ndarray, np.ndarray, str]:
    """(X (rows, 784) in ``dtype`` scaled to [0, 1], labels int64 (rows,), "MNIST" or "random")."""
    if mnist is None:
        rng = np.random.default_rng(12_345 + (split == "test"))
        X = rng.random((rows, 784), dtype=np.dtype(dtype).type)
        return X, rng.integers(0, 10, rows), "random"
    from deltaprop.datasets import read_idx

    images_stem, labels_stem = STEMS[split]
    images = read_idx(_idx_file(Path(mnist), images_stem))  # type: ignore[arg-type]
    labels = read_idx(_idx_file(Path(mnist), labels_stem))  # type: ignore[arg-type]
    if rows > images.shape[0]:
        raise ValueError(f"MNIST's {split} set has {images.shape[0]:,} rows, {rows:,} asked for")
    X = images[:rows].reshape(rows, -1).astype(dtype)
    X /= np.asarray(255, dtype)
    return X, labels[:rows].astype(np.int64), "MNIST"


def write_random_mnist(directory: Path) -> None:
    """Four IDX files of random pixels and labels shaped like MNIST's (for the end-to-end run)."""
    from deltaprop.datasets import write_idx

    rng = np.random.default_rng(12_345)
    for (images, labels), rows in ((STEMS["train"], 60_000), (STEMS["test"], 10_000)):
        write_idx(directory / images, rng.integers(0, 256, (rows, 28, 28), dtype=np.uint8))
        write_idx(directory / labels, rng.integers(0, 10, rows, dtype=np.uint8))
