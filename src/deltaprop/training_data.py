"""The rows a network trains on, checked once: inputs, targets, labels, weights.

Arrays already of the network's dtype and C-contiguous are used as they are: a fit never copies its
training data; mini-batches are gathered from it by index (``deltaprop.training``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from deltaprop._validation import as_sample_weight, check_same_rows, one_hot
from deltaprop.network import Network

Array = np.ndarray
FINGERPRINT_ROWS = 4096  # rows hashed at a time: bounded memory for non-contiguous arrays


class TrainingData:
    """Checked training rows: X (n, n_in), targets Y (n, n_out), labels (n,) or None, weights or None.

    Arrays already of the network's dtype and C-contiguous are used as they are, never copied.
    ``class_weight="balanced"`` multiplies each row's weight (1 without ``sample_weight``) by
    ``balanced_weights`` of the labels.
    """

    def __init__(self, net: Network, X: Any, y: Any, sample_weight: Any, name: str,
                 class_weight: str | None = None) -> None:
        self.X = np.ascontiguousarray(net.input_activations(X, f"{name} X"))
        self.labels, self.Y = _labels_and_targets(net, y, f"{name} y")
        check_same_rows(f"{name} X", self.X, f"{name} y", self.Y)
        self.weights = None if sample_weight is None else as_sample_weight(
            f"{name} sample_weight", sample_weight, self.X.shape[0], net.dtype)
        if class_weight is not None:
            if self.labels is None:
                raise ValueError(f"class_weight={class_weight!r} needs class labels: {name} y must be "
                                 f"labels (n,) or one-hot rows, got targets that are not one-hot")
            balanced = balanced_weights(self.labels).astype(net.dtype)
            self.weights = balanced if self.weights is None else balanced * self.weights

    @property
    def rows(self) -> int:
        return self.X.shape[0]

    @property
    def mean_weight(self) -> float:
        """The mean sample weight of a row (1 without sample weights)."""
        return 1.0 if self.weights is None else float(np.mean(self.weights, dtype=np.float64))


def balanced_weights(labels: Array) -> Array:
    """scikit-learn's "balanced" class weights, row by row: n / (k · the count of the row's class),
    for n rows of k distinct classes (``sklearn.utils.class_weight.compute_class_weight`` over the
    classes present). ``labels``: class indices (n,); returns float64 (n,), of mean 1."""
    counts = np.bincount(labels)
    return labels.size / (np.count_nonzero(counts) * counts[labels].astype(np.float64))


def _labels_and_targets(net: Network, y: Any, name: str) -> tuple[Array | None, Array]:
    """Class indices (None for float targets that are not one-hot rows) and targets (n, n_out):
    1-D labels are checked once and one-hot encoded; 2-D targets are checked as they are."""
    y = np.asarray(y)
    n_out = net.sizes[-1]
    if y.ndim == 1:
        labels = net.check_labels(y, name)
        return labels, one_hot(labels, n_out, net.dtype)
    Y = net.check_Y(y, name)
    one_hot_rows = n_out > 1 and np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)
    return (np.argmax(Y, axis=1) if one_hot_rows else None), Y


def data_fingerprint(data: TrainingData) -> dict[str, Any]:
    """Rows, columns and a BLAKE2 digest of the training arrays, to refuse resuming on other data."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (data.X, data.Y) + (() if data.weights is None else (data.weights,)):
        for start in range(0, array.shape[0], FINGERPRINT_ROWS):
            block = np.ascontiguousarray(array[start:start + FINGERPRINT_ROWS])
            digest.update(block.view(np.uint8).reshape(-1))
    return {"rows": int(data.X.shape[0]), "columns": int(data.X.shape[1]), "blake2b": digest.hexdigest()}
