"""Mini-batch stochastic gradient descent and its toolbox (Nielsen, chapters 1 and 3).

The optimizer (``SGD``) is apart from the model: it owns η, the regularization, the momentum
velocities, and applies one update from a gradient. ``fit`` runs the epochs: one shuffled gather of the
training data per epoch, mini-batches of k rows, and per-epoch monitoring recorded in a ``History``.

Update for a mini-batch of k rows, n training rows in all (the book's L2 convention):

    w → w − η (λ/n) w − η (λ₁/n) sgn(w) − (η/k) Σ_x ∇_w C_x        b → b − (η/k) Σ_x ∇_b C_x

and with momentum μ, v → μ v − η (that same gradient), w → w + v.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from deltaprop._validation import (
    as_labels,
    check_number,
    check_positive_int,
    check_same_rows,
)
from deltaprop.diagnostics import saturation
from deltaprop.errors import TrainingDivergedError
from deltaprop.network import Network

Array = np.ndarray
Callback = Callable[[dict[str, Any]], Any]
EVALUATION_CHUNK = 10_000  # rows per forward pass when evaluating, to bound memory
SATURATION_ROWS = 1_000  # training rows on which saturation is measured each epoch
MIN_ETA_FRACTION = 1 / 128  # the schedule stops once η has fallen to η0/128


@dataclass
class TrainingConfig:
    """Everything that defines a training run; stored with the model and in checkpoints."""

    epochs: int
    batch_size: int
    eta: float
    lmbda: float = 0.0
    l1: float = 0.0
    momentum: float = 0.0
    dropout: float = 0.0
    schedule: int | None = None
    early_stopping: int | None = None
    shuffle: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        self.epochs = check_positive_int("epochs", self.epochs)
        self.batch_size = check_positive_int("batch_size", self.batch_size)
        self.eta = check_number("eta", self.eta, positive=True)
        self.lmbda = check_number("lmbda", self.lmbda, nonnegative=True)
        self.l1 = check_number("l1", self.l1, nonnegative=True)
        self.momentum = check_number("momentum", self.momentum, nonnegative=True, below_one=True)
        self.dropout = check_number("dropout", self.dropout, nonnegative=True, below_one=True)
        if self.schedule is not None:
            self.schedule = check_positive_int("schedule", self.schedule)
        if self.early_stopping is not None:
            self.early_stopping = check_positive_int("early_stopping", self.early_stopping)
        if self.seed is not None:
            self.seed = check_positive_int("seed", self.seed, minimum=0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SGD:
    """Stochastic gradient descent with L2 (λ), L1 (λ₁) and momentum (μ), apart from the model.

    Args:
        eta: learning rate η > 0.
        n: number of training rows, the n of the regularization terms λ/n and λ₁/n.
        lmbda: L2 parameter λ >= 0.
        l1: L1 parameter λ₁ >= 0.
        momentum: μ in [0, 1); 0 is plain SGD and keeps no velocities.
    """

    def __init__(
        self, eta: float, n: int, lmbda: float = 0.0, l1: float = 0.0, momentum: float = 0.0
    ) -> None:
        self.eta = eta
        self.n = n
        self.lmbda = lmbda
        self.l1 = l1
        self.momentum = momentum
        self.velocity_w: list[Array] = []
        self.velocity_b: list[Array] = []

    def _regularized(self, w: Array, nabla_w: Array) -> Array:
        """∂/∂w of the regularized cost: ∇_w C + (λ/n) w + (λ₁/n) sgn(w)."""
        grad = nabla_w
        if self.lmbda:
            grad = grad + (self.lmbda / self.n) * w
        if self.l1:
            grad = grad + (self.l1 / self.n) * np.sign(w)
        return grad

    def step(self, net: Network, nabla_b: Sequence[Array], nabla_w: Sequence[Array]) -> None:
        """Apply one update, in place, from the mean gradient of a mini-batch."""
        if self.momentum and not self.velocity_w:
            self.velocity_w = [np.zeros_like(w) for w in net.weights]
            self.velocity_b = [np.zeros_like(b) for b in net.biases]
        eta = net.dtype.type(self.eta)
        for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
            grad_w = self._regularized(w, nabla_w[i])
            if self.momentum:
                mu = net.dtype.type(self.momentum)
                self.velocity_w[i] *= mu
                self.velocity_w[i] -= eta * grad_w  # v → μ v − η ∇C
                self.velocity_b[i] *= mu
                self.velocity_b[i] -= eta * nabla_b[i]
                w += self.velocity_w[i]  # w → w + v
                b += self.velocity_b[i]
            else:
                w -= eta * grad_w
                b -= eta * nabla_b[i]


@dataclass
class History:
    """Per-epoch records of a training run; ``history["validation_accuracy"]`` lists one field.

    Each record holds: epoch (1-based), eta, seconds (training time of the epoch), train_cost,
    train_accuracy, validation_cost, validation_accuracy, test_cost, test_accuracy (None where not
    measured), learning_speed (‖∂C/∂b^l‖ per layer, averaged over the epoch's mini-batches) and
    saturation (per layer, the fraction of saturated units or dead ReLUs; None where undefined).
    Costs include the regularization terms, with n the training-set size.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "completed"

    def __getitem__(self, key: str) -> list[Any]:
        return [record.get(key) for record in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def best(self, key: str) -> float | None:
        values = [v for v in self[key] if v is not None]
        return max(values) if values else None

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "stop_reason": self.stop_reason}


@dataclass
class _EvaluationSet:
    """Checked data to monitor: X (m, n_in), targets Y (m, n_out), labels (m,) or None."""

    X: Array
    Y: Array
    labels: Array | None


def _evaluation_set(net: Network, X: Any, y: Any, name: str) -> _EvaluationSet:
    X = net.check_X(X, f"{name} X")
    Y = net.check_Y(y, f"{name} y")
    check_same_rows(f"{name} X", X, f"{name} y", Y)
    return _EvaluationSet(X, Y, _labels_of(y, Y, net.sizes[-1], name))


def _labels_of(y: Any, Y: Array, n_out: int, name: str) -> Array | None:
    """Class labels when the targets are labels or one-hot rows; None for other float targets."""
    y = np.asarray(y)
    if y.ndim == 1:
        return as_labels(f"{name} y", y, n_out)
    one_hot_rows = n_out > 1 and np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)
    return np.argmax(Y, axis=1) if one_hot_rows else None


def _pair(data: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(data, Sequence) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    return data[0], data[1]


class _Trainer:
    """One training run: the state that changes from mini-batch to mini-batch."""

    def __init__(
        self,
        net: Network,
        train: _EvaluationSet,
        config: TrainingConfig,
        monitored: dict[str, _EvaluationSet],
        callbacks: Iterable[Callback],
        progress: bool,
    ) -> None:
        self.net = net
        self.train = train
        self.config = config
        self.monitored = monitored
        self.callbacks = list(callbacks)
        self.progress = progress
        self.rng = np.random.default_rng(config.seed)
        self.optimizer = SGD(
            config.eta, train.X.shape[0], config.lmbda, config.l1, config.momentum
        )
        self.history = History()
        self.best_validation = -math.inf
        self.epochs_without_improvement = 0
        self.X_shuffled = np.empty_like(train.X)
        self.Y_shuffled = np.empty_like(train.Y)

    # -- one epoch --------------------------------------------------------------------------------

    def _epoch_order(self) -> tuple[Array, Array]:
        """The training rows in this epoch's order: one gather into preallocated buffers."""
        if not self.config.shuffle:
            return self.train.X, self.train.Y
        order = self.rng.permutation(self.train.X.shape[0])
        np.take(self.train.X, order, axis=0, out=self.X_shuffled)
        np.take(self.train.Y, order, axis=0, out=self.Y_shuffled)
        return self.X_shuffled, self.Y_shuffled

    def _dropout_masks(self, m: int) -> list[Array] | None:
        """Inverted dropout: each hidden unit kept with probability 1 − p, scaled by 1/(1 − p)."""
        p = self.config.dropout
        if not p:
            return None
        keep = self.net.dtype.type(1.0 / (1.0 - p))
        return [
            (self.rng.random((m, size)) >= p).astype(self.net.dtype) * keep
            for size in self.net.sizes[1:-1]
        ]

    def run_epoch(self, epoch: int, on_batch: Callable[[], None]) -> list[float]:
        """Train one epoch; returns ‖∂C/∂b^l‖ per layer averaged over its mini-batches."""
        X, Y = self._epoch_order()
        k = self.config.batch_size
        speed_sums = [0.0] * self.net.num_layers
        n_batches = 0
        for start in range(0, X.shape[0], k):
            nabla_b, nabla_w = self.net.gradient(
                X[start:start + k], Y[start:start + k], self._dropout_masks(min(k, X.shape[0] - start))
            )
            for i, nb in enumerate(nabla_b):
                speed_sums[i] += math.sqrt(float(np.dot(nb, nb)))
            if not math.isfinite(sum(speed_sums)):
                raise TrainingDivergedError(
                    f"training diverged in epoch {epoch}, mini-batch {n_batches + 1}: the gradient "
                    f"became NaN or infinite; try a smaller eta (now {self.optimizer.eta:g})"
                )
            self.optimizer.step(self.net, nabla_b, nabla_w)
            n_batches += 1
            on_batch()
        return [s / n_batches for s in speed_sums]

    # -- monitoring -------------------------------------------------------------------------------

    def _cost_and_accuracy(self, data: _EvaluationSet) -> tuple[float, float | None]:
        net, n = self.net, self.train.X.shape[0]
        cost_sum, correct = 0.0, 0
        for start in range(0, data.X.shape[0], EVALUATION_CHUNK):
            X = data.X[start:start + EVALUATION_CHUNK]
            Y = data.Y[start:start + EVALUATION_CHUNK]
            zs, activations = net.forward(X)
            cost_sum += float(np.sum(net.cost_function.value(zs[-1], activations[-1], Y,
                                                             net.activations[-1])))
            if data.labels is not None:
                labels = data.labels[start:start + EVALUATION_CHUNK]
                correct += int(np.sum(np.argmax(activations[-1], axis=1) == labels))
        cost = cost_sum / data.X.shape[0] + net.l2_penalty(self.config.lmbda, n)
        cost += self.config.l1 / n * sum(float(np.abs(w).sum()) for w in net.weights)
        accuracy = correct / data.X.shape[0] if data.labels is not None else None
        return cost, accuracy

    def record(self, epoch: int, seconds: float, learning_speed: list[float]) -> dict[str, Any]:
        record: dict[str, Any] = {"epoch": epoch, "eta": self.optimizer.eta, "seconds": seconds}
        for name, data in {"train": self.train, **self.monitored}.items():
            cost, accuracy = self._cost_and_accuracy(data)
            if not math.isfinite(cost):
                raise TrainingDivergedError(
                    f"training diverged in epoch {epoch}: the {name} cost is {cost}; "
                    f"try a smaller eta (now {self.optimizer.eta:g})"
                )
            record[f"{name}_cost"], record[f"{name}_accuracy"] = cost, accuracy
        for name in ("validation", "test"):
            record.setdefault(f"{name}_cost", None)
            record.setdefault(f"{name}_accuracy", None)
        record["learning_speed"] = learning_speed
        record["saturation"] = saturation(self.net, self.train.X[:SATURATION_ROWS])
        return record

    # -- schedule and early stopping --------------------------------------------------------------

    def stop_reason_after(self, record: dict[str, Any]) -> str | None:
        """Apply the η schedule and early stopping; return why training stops, or None."""
        accuracy = record["validation_accuracy"]
        if accuracy is None:
            return None
        if accuracy > self.best_validation:
            self.best_validation, self.epochs_without_improvement = accuracy, 0
            return None
        self.epochs_without_improvement += 1
        patience = self.config.early_stopping
        if patience is not None and self.epochs_without_improvement >= patience:
            return f"early stopping: no validation improvement in {patience} epochs"
        if self.config.schedule is not None and (
            self.epochs_without_improvement >= self.config.schedule
        ):
            self.optimizer.eta /= 2
            self.epochs_without_improvement = 0
            if self.optimizer.eta <= self.config.eta * MIN_ETA_FRACTION * (1 + 1e-12):
                return "schedule: eta fell to eta0/128"
        return None

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> History:
        n_batches = -(-self.train.X.shape[0] // self.config.batch_size)
        with _progress_bar(self.progress, self.config.epochs, n_batches) as advance:
            for epoch in range(1, self.config.epochs + 1):
                started = time.perf_counter()
                learning_speed = self.run_epoch(epoch, advance)
                record = self.record(epoch, time.perf_counter() - started, learning_speed)
                self.history.records.append(record)
                for callback in self.callbacks:
                    callback(record)
                reason = self.stop_reason_after(record)
                if reason is not None:
                    self.history.stop_reason = reason
                    break
        return self.history


class _progress_bar:
    """A rich progress bar over all mini-batches of the run, or nothing when disabled."""

    def __init__(self, enabled: bool, epochs: int, batches_per_epoch: int) -> None:
        self.enabled = enabled
        self.total = epochs * batches_per_epoch
        self.every = max(1, batches_per_epoch // 50)  # redraw ~50 times per epoch, not per batch
        self.count = 0

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        self.task = self.bar.add_task("training", total=self.total)
        return self.advance

    def advance(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.bar.update(self.task, completed=self.count)

    def __exit__(self, *exc_info: object) -> None:
        if self.enabled:
            self.bar.stop()


def fit(
    net: Network,
    X: Any,
    y: Any,
    *,
    epochs: int,
    batch_size: int,
    eta: float,
    lmbda: float = 0.0,
    l1: float = 0.0,
    momentum: float = 0.0,
    dropout: float = 0.0,
    schedule: int | None = None,
    early_stopping: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_data: tuple[Any, Any] | None = None,
    test_data: tuple[Any, Any] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = False,
) -> History:
    """Train ``net`` in place by mini-batch stochastic gradient descent.

    Args:
        net: the network to train.
        X: training inputs, shape (n, sizes[0]).
        y: class labels of shape (n,) (one-hot encoded internally) or targets (n, sizes[-1]).
        epochs: number of passes over the training data.
        batch_size: rows per mini-batch k; the last mini-batch of an epoch may be shorter.
        eta: learning rate η > 0.
        lmbda: L2 regularization λ, in the book's convention (λ/2n) Σ w².
        l1: L1 regularization λ₁, (λ₁/n) Σ |w|.
        momentum: momentum coefficient μ in [0, 1).
        dropout: probability p in [0, 1) of dropping each hidden unit during training.
        schedule: halve η when validation accuracy has not improved for this many epochs, and stop
            once η has fallen to η0/128 (needs validation_data).
        early_stopping: stop when validation accuracy has not improved for this many epochs.
        shuffle: reshuffle the rows every epoch (from ``seed``); False takes them in row order.
        seed: seed of the Generator behind shuffling and dropout.
        validation_data, test_data: (X, y) pairs evaluated after every epoch.
        callbacks: functions called with each epoch's record.
        progress: show a progress bar.

    Returns:
        The History of per-epoch records.
    """
    config = TrainingConfig(
        epochs, batch_size, eta, lmbda, l1, momentum, dropout, schedule, early_stopping,
        bool(shuffle), seed,
    )
    train = _evaluation_set(net, X, y, "training")
    monitored = {
        name: _evaluation_set(net, *_pair(data, f"{name}_data"), name)
        for name, data in (("validation", validation_data), ("test", test_data))
        if data is not None
    }
    if (schedule is not None or early_stopping is not None) and "validation" not in monitored:
        raise ValueError("schedule and early_stopping need validation_data, got none")
    net.training_config = config.as_dict()
    return _Trainer(net, train, config, monitored, callbacks, progress).run()


__all__ = ["SGD", "History", "TrainingConfig", "fit"]
