"""What a training run records: one record per epoch, and the running sums behind an epoch's record.

``History`` holds the records. ``EpochSums`` accumulates, mini-batch by mini-batch, what an epoch's
record reports without another pass over the data: the weighted cost and the correct predictions of
the forward passes training has already done (the running mean that Keras and PyTorch loops report),
and the sum of the bias gradients, whose mean over the epoch gives the learning speed. Costs are
computed in blocks of rows (copied aside per mini-batch) and every sum is taken in row order, so an
interrupted and resumed epoch adds exactly the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from deltaprop.network import Network

Array = np.ndarray
BLOCK_ROWS = 1024  # rows of forward outputs kept aside before their costs are computed


RECORD_FIELDS = (
    "epoch", "eta", "seconds", "train_cost", "train_accuracy", "validation_cost",
    "validation_accuracy", "test_cost", "test_accuracy", "learning_speed", "saturation",
)
"""The fields of every epoch's record, in order."""
KEPT_SLOT = "kept"
"""The checkpoint slot (``deltaprop.io``'s slots) that holds the parameters of the kept epoch."""


def validation_score(record: dict[str, Any]) -> tuple[float, ...] | None:
    """What ``keep="best"`` maximizes, compared in order: the record's validation accuracy, then
    minus its validation cost (which breaks the ties of accuracy on small validation sets); minus
    the cost alone for targets that are not classes; None without validation data."""
    accuracy, cost = record.get("validation_accuracy"), record.get("validation_cost")
    if cost is None:
        return None
    return (-float(cost),) if accuracy is None else (float(accuracy), -float(cost))


@dataclass(repr=False)
class History:
    """Per-epoch records of a training run, indexed like a list of them, or by field.

    ``history[0]`` is the first epoch's record (a dict), ``history[-1]`` the last, ``history[1:3]``
    a list of records: list positions, 0-based, as ``history.records``. ``history.epoch(n)`` is the
    record of epoch n (1-based, as the records number them; a resumed run's history holds them all).
    ``history["validation_accuracy"]`` and ``history.validation_accuracy`` list one field over the
    epochs; an unknown field raises KeyError (AttributeError) listing the known ones, which
    ``history.keys()`` lists. Iterating gives the records.

    Each record holds: epoch (1-based), eta, seconds (training time of the epoch), train_cost,
    train_accuracy (by default the running means over the epoch's mini-batches, each computed before
    that mini-batch's update; with ``train_metrics="full"`` a pass over the training set after the
    epoch), validation_cost, validation_accuracy, test_cost, test_accuracy (None where not
    measured), learning_speed (per layer, ‖∂C/∂b^l‖ of the epoch's mean bias gradient) and saturation
    (per layer, the fraction of saturated units or dead ReLUs; None where undefined). Costs include
    the regularization terms of the weights at the end of the epoch, with n the training-set size.

    ``kept_epoch`` is the epoch (1-based) whose parameters the network holds once the run is over:
    with ``keep="best"`` and validation data the epoch of the best ``validation_score`` (the best
    validation accuracy, the lowest validation cost among equals, the earliest of exact equals),
    else the last; during the run, the best epoch so far whose parameters are
    kept aside (None while there is none).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "completed"
    kept_epoch: int | None = field(default=None, kw_only=True)

    def keys(self) -> list[str]:
        """The fields of the records: ``RECORD_FIELDS`` and any other a record holds."""
        extra = {key for record in self.records for key in record} - set(RECORD_FIELDS)
        return [*RECORD_FIELDS, *sorted(extra)]

    @overload
    def __getitem__(self, key: str) -> list[Any]: ...
    @overload
    def __getitem__(self, key: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, key: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(f"no field {key!r} in the history; known fields: {', '.join(self.keys())}")
            return [record.get(key) for record in self.records]
        if isinstance(key, slice) or (isinstance(key, int | np.integer) and not isinstance(key, bool)):
            try:
                return self.records[key]
            except IndexError:
                raise IndexError(f"history index {key} out of range: it holds {len(self)} epochs "
                                 f"(positions 0 .. {len(self) - 1}; history.epoch(n) is epoch n)") from None
        raise TypeError(f"history indices are field names, positions or slices, got {key!r}")

    def __getattr__(self, name: str) -> list[Any]:
        if name.startswith("_") or name in ("records", "stop_reason"):  # unpickling, copying
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"History has no attribute {name!r}; its fields are "
                                 f"{', '.join(self.keys())}") from None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def epoch(self, n: int) -> dict[str, Any]:
        """The record of epoch ``n`` (1-based); KeyError naming the epochs held."""
        for record in self.records:
            if record.get("epoch") == n:
                return record
        held = "none"
        if self.records:
            held = f"{self.records[0].get('epoch')} .. {self.records[-1].get('epoch')}"
        raise KeyError(f"no record of epoch {n!r} in the history; it holds epochs {held}")

    def __repr__(self) -> str:
        """One line: the epochs, why training stopped, the last record's costs and accuracies, the
        best validation accuracy and the kept epoch."""
        if not self.records:
            return f"History: no epoch recorded ({self.stop_reason})"
        last = self.records[-1]
        values = [f"{key} {last[key]:.4g}" for split in ("train", "validation", "test")
                  for key in (f"{split}_cost", f"{split}_accuracy") if last.get(key) is not None]
        text = f"History: {len(self.records)} epochs ({self.stop_reason}); last: {', '.join(values)}"
        best = self.best("validation_accuracy")
        if best is not None:
            text += f"; best validation_accuracy {best:.4g}"
        return text + ("" if self.kept_epoch is None else f"; kept epoch {self.kept_epoch}")

    def best(self, key: str) -> float | None:
        values = [v for v in self[key] if v is not None]
        return max(values) if values else None

    def kept(self) -> dict[str, Any] | None:
        """The record of the kept epoch (``kept_epoch``), or None when none is named."""
        return None if self.kept_epoch is None else self.epoch(self.kept_epoch)

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "stop_reason": self.stop_reason, "kept_epoch": self.kept_epoch}


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    """One line for an epoch's record, as Keras's verbose mode prints it: ``epoch 3/30 - 0.21s -
    train_cost: 0.2817 - train_accuracy: 0.9412 - validation_cost: ...`` (fields not measured are
    left out)."""
    parts = [f"epoch {record['epoch']}/{epochs}", f"{record['seconds']:.2f}s"]
    for name in ("train", "validation", "test"):
        for measure in ("cost", "accuracy"):
            value = record.get(f"{name}_{measure}")
            if value is not None:
                parts.append(f"{name}_{measure}: {value:.4f}")
    return " - ".join(parts)


def _sequential_sum(start: float, values: Array) -> float:
    """start + v_0 + v_1 + ..., added one by one (cumsum is sequential, unlike sum's pairwise tree)."""
    if values.size == 0:
        return start
    return float(np.cumsum(np.concatenate(([start], values.astype(np.float64))))[-1])


class EpochSums:
    """Running sums of one epoch: weighted cost, weight, correct labels, bias gradients.

    ``add`` is called once per mini-batch with the output layer's z^L and a^L (before the update),
    the targets, the rows' weights and labels (or None), and the bias gradients ∂C/∂b^l.
    """

    def __init__(self, net: Network, batch_size: int) -> None:
        self.net = net
        capacity = max(batch_size, BLOCK_ROWS // batch_size * batch_size)
        n_out, dt = net.sizes[-1], net.dtype
        self.z, self.a, self.y = (np.empty((capacity, n_out), dt) for _ in range(3))
        self.weights = np.empty(capacity, dt)
        self.labels = np.empty(capacity, np.int64)
        self.has_labels = True
        self.filled = 0
        self.reset()

    def reset(self) -> None:
        self.cost_sum, self.weight_sum, self.correct, self.rows, self.batches = 0.0, 0.0, 0, 0, 0
        self.nabla_b_sum = [np.zeros(n, np.float64) for n in self.net.sizes[1:]]

    def add(self, z: Array, a: Array, y: Array, weights: Array | None, labels: Array | None,
            nabla_b: list[Array]) -> None:
        m = z.shape[0]
        if self.filled + m > self.z.shape[0]:
            self.flush()
        rows = slice(self.filled, self.filled + m)
        self.z[rows], self.a[rows], self.y[rows] = z, a, y
        self.weights[rows] = 1.0 if weights is None else weights
        if labels is None:
            self.has_labels = False
        else:
            self.labels[rows] = labels
        self.filled += m
        self.batches += 1
        for total, gradient in zip(self.nabla_b_sum, nabla_b, strict=True):
            total += gradient

    def flush(self) -> None:
        """Add the costs and correct predictions of the rows kept aside to the sums."""
        n = self.filled
        if n == 0:
            return
        net = self.net
        costs = net.cost_function.value(self.z[:n], self.a[:n], self.y[:n], net.activations[-1])
        self.cost_sum = _sequential_sum(self.cost_sum, costs * self.weights[:n])
        self.weight_sum = _sequential_sum(self.weight_sum, self.weights[:n])
        if self.has_labels:
            self.correct += int(np.sum(np.argmax(self.a[:n], axis=1) == self.labels[:n]))
        self.rows += n
        self.filled = 0

    def finite(self) -> bool:
        """Whether the sums so far are finite (training has not diverged)."""
        self.flush()
        return math.isfinite(self.cost_sum) and all(
            bool(np.all(np.isfinite(total))) for total in self.nabla_b_sum)

    def cost(self) -> float:
        self.flush()
        return self.cost_sum / self.weight_sum if self.weight_sum > 0 else math.nan

    def accuracy(self) -> float | None:
        self.flush()
        return self.correct / self.rows if self.has_labels and self.rows else None

    def learning_speed(self) -> list[float]:
        """‖∂C/∂b^l‖ of the epoch's mean bias gradient, per layer (Nielsen, ch. 5)."""
        count = max(self.batches, 1)
        return [float(np.linalg.norm(total / count)) for total in self.nabla_b_sum]

    def state(self) -> dict[str, Any]:
        self.flush()
        return {"cost_sum": self.cost_sum, "weight_sum": self.weight_sum, "correct": self.correct,
                "rows": self.rows, "batches": self.batches, "has_labels": self.has_labels,
                "nabla_b_sum": [total.tolist() for total in self.nabla_b_sum]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.filled = 0
        self.cost_sum, self.weight_sum = float(state["cost_sum"]), float(state["weight_sum"])
        self.correct, self.rows = int(state["correct"]), int(state["rows"])
        self.batches, self.has_labels = int(state["batches"]), bool(state["has_labels"])
        self.nabla_b_sum = [np.array(total, np.float64) for total in state["nabla_b_sum"]]
