"""The end-to-end comparison's PyTorch side: what ``deltaprop train`` does, written for PyTorch.

    python bench/torch_train.py MNIST_DIR OUT_DIR [--threads N] [--epochs 1]

Reads MNIST's IDX files (gzip or not), splits the book's way (50,000 train, the last 10,000 training
images validate, t10k tests), scales the pixels to [0, 1] in float32, trains [784, 256, 128, 10]
(ReLU, softmax output, log-likelihood = cross_entropy of the logits) by SGD (η 0.05, momentum 0.9,
batch 64, reshuffled each epoch), evaluates cost and accuracy of the validation and test sets after
every epoch, and writes the model (state_dict) and the history (JSON) to OUT_DIR.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path: Path) -> np.ndarray:
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    with (gzip.open if gzipped else open)(path, "rb") as f:
        data = f.read()
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3]))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(shape)


def load(folder: Path, stem: str) -> tuple[torch.Tensor, torch.Tensor]:
    def find(name: str) -> Path:
        return folder / f"{name}.gz" if (folder / f"{name}.gz").is_file() else folder / name

    images = read_idx(find(f"{stem}-images-idx3-ubyte"))
    labels = read_idx(find(f"{stem}-labels-idx1-ubyte"))
    X = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255))
    return X, torch.from_numpy(labels.astype(np.int64))


def evaluate(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    with torch.inference_mode():
        logits = model(X)
        return {"cost": float(F.cross_entropy(logits, y)),
                "accuracy": float((logits.argmax(1) == y).float().mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mnist", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    X, y = load(args.mnist, "train")
    (X_train, y_train), validation = (X[:50_000], y[:50_000]), (X[50_000:], y[50_000:])
    test = load(args.mnist, "t10k")
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = []
    for epoch in range(args.epochs):
        started = time.perf_counter()
        order = torch.randperm(X_train.shape[0])
        for start in range(0, X_train.shape[0], 64):
            index = order[start:start + 64]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(X_train.index_select(0, index)), y_train.index_select(0, index)).backward()
            optimizer.step()
        history.append({"epoch": epoch + 1, "seconds": time.perf_counter() - started,
                        "validation": evaluate(model, *validation), "test": evaluate(model, *test)})
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "model.pt")
    (args.out / "history.json").write_text(json.dumps(history, indent=2))


if __name__ == "__main__":
    main()
