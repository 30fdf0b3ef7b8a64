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
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from deltaprop import checkpoint
from deltaprop._validation import (
    as_labels,
    check_number,
    check_positive_int,
    check_same_rows,
)
from deltaprop.diagnostics import saturation
from deltaprop.errors import ModelFormatError, TrainingDivergedError, TrainingInterrupted
from deltaprop.network import Network

Array = np.ndarray
Callback = Callable[[dict[str, Any]], Any]
EVALUATION_CHUNK = 1_000  # rows per forward pass when evaluating: bounds monitoring memory
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
    """One training run: the state that changes from mini-batch to mini-batch.

    Position: ``epoch`` epochs are complete and ``batch`` mini-batches of the next one are done.
    Shuffling and dropout draw from one Generator; its state at the start of the current epoch is
    kept so that the epoch's order can be drawn again when resuming in the middle of it.
    """

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
        self.epoch = 0
        self.batch = 0
        self.speed_sums = [0.0] * net.num_layers
        self.rng_epoch_start = self.rng.bit_generator.state
        self.X_shuffled = np.empty_like(train.X)
        self.Y_shuffled = np.empty_like(train.Y)
        self.checkpoint_dir: str | None = None
        self.checkpoint_extra: dict[str, Any] = {}
        self.data_fingerprint: dict[str, Any] = {}
        self.should_stop: Callable[[], bool] = lambda: False

    # -- checkpoints ------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The training state as JSON-ready values (the parameters and velocities go as tensors)."""
        finite_best = math.isfinite(self.best_validation)
        return {
            "config": self.config.as_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "eta": self.optimizer.eta,
            "best_validation": self.best_validation if finite_best else None,
            "epochs_without_improvement": self.epochs_without_improvement,
            "rng": self.rng.bit_generator.state,
            "rng_epoch_start": self.rng_epoch_start,
            "speed_sums": self.speed_sums,
            "history": self.history.as_dict(),
            "data": self.data_fingerprint,
            "extra": self.checkpoint_extra,
        }

    def save_checkpoint(self) -> None:
        if self.checkpoint_dir is None:
            return
        velocities = None
        if self.optimizer.velocity_w:
            velocities = (self.optimizer.velocity_w, self.optimizer.velocity_b)
        checkpoint.save_checkpoint(self.checkpoint_dir, self.net, self.state(), velocities)

    def restore(self, saved: checkpoint.Checkpoint) -> None:
        """Continue from a checkpoint: parameters, velocities, position, η, schedule and RNG."""
        state = saved.state
        if state["data"] != self.data_fingerprint:
            raise ValueError(
                f"the training data differ from the data of the checkpoint in {saved.path.parent}: "
                f"expected {state['data']['rows']} rows x {state['data']['columns']} columns with "
                f"the same values; resume with the data the run started with"
            )
        self.net.weights = [w.copy() for w in saved.net.weights]
        self.net.biases = [b.copy() for b in saved.net.biases]
        if saved.velocities is not None:
            self.optimizer.velocity_w, self.optimizer.velocity_b = saved.velocities
        self.optimizer.eta = state["eta"]
        best = state["best_validation"]
        self.best_validation = -math.inf if best is None else best
        self.epochs_without_improvement = state["epochs_without_improvement"]
        self.epoch, self.batch = state["epoch"], state["batch"]
        self.speed_sums = list(state["speed_sums"])
        self.rng_epoch_start = state["rng_epoch_start"]
        self.rng.bit_generator.state = state["rng"]
        self.history = History(state["history"].get("records", []),
                               state["history"].get("stop_reason", "completed"))

    # -- one epoch --------------------------------------------------------------------------------

    def _epoch_order(self) -> tuple[Array, Array]:
        """The training rows in this epoch's order: one gather into preallocated buffers.

        In the middle of an epoch (after a resume) the order is drawn again from the generator's
        state at the epoch's start, and the generator then continues from where it was.
        """
        if not self.config.shuffle:
            return self.train.X, self.train.Y
        current = self.rng.bit_generator.state
        if self.batch == 0:
            self.rng_epoch_start = current
        else:
            self.rng.bit_generator.state = self.rng_epoch_start
        order = self.rng.permutation(self.train.X.shape[0])
        if self.batch != 0:
            self.rng.bit_generator.state = current
        # mode="clip": the indices of a permutation are valid, and the default mode="raise" would
        # gather into a temporary copy of the data before writing to out
        np.take(self.train.X, order, axis=0, out=self.X_shuffled, mode="clip")
        np.take(self.train.Y, order, axis=0, out=self.Y_shuffled, mode="clip")
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

    def run_epoch(self, on_batch: Callable[[], None]) -> list[float]:
        """Train the rest of the current epoch; returns ‖∂C/∂b^l‖ per layer averaged over it."""
        X, Y = self._epoch_order()
        # Fast path (deltaprop/_fast.py): this same loop with each step fused into preallocated
        # buffers; it returns None, having done nothing, when disabled or unable to take this run.
        from deltaprop import _fast

        speeds = _fast.run_epoch(self, X, Y, on_batch)
        if speeds is not None:
            return speeds
        k = self.config.batch_size
        n_batches = -(-X.shape[0] // k)
        while self.batch < n_batches:
            start = self.batch * k
            nabla_b, nabla_w = self.net.gradient(
                X[start:start + k], Y[start:start + k], self._dropout_masks(min(k, X.shape[0] - start))
            )
            for i, nb in enumerate(nabla_b):
                self.speed_sums[i] += math.sqrt(float(np.dot(nb, nb)))
            if not math.isfinite(sum(self.speed_sums)):
                raise TrainingDivergedError(
                    f"training diverged in epoch {self.epoch + 1}, mini-batch {self.batch + 1}: the "
                    f"gradient became NaN or infinite; try a smaller eta (now {self.optimizer.eta:g})"
                )
            self.optimizer.step(self.net, nabla_b, nabla_w)
            self.batch += 1
            on_batch()
            if self.batch < n_batches and self.should_stop():
                self._interrupt()
        speeds = [total / n_batches for total in self.speed_sums]
        self.batch, self.speed_sums = 0, [0.0] * self.net.num_layers
        return speeds

    def _interrupt(self) -> None:
        """Save the position reached and stop: the run can be resumed from there."""
        if self.checkpoint_dir is None:
            raise TrainingInterrupted(
                f"training interrupted in epoch {self.epoch + 1} after mini-batch {self.batch}; "
                f"no checkpoint_dir was given, so nothing was saved", ""
            )
        self.save_checkpoint()
        raise TrainingInterrupted(
            f"training interrupted in epoch {self.epoch + 1} after mini-batch {self.batch}; "
            f"checkpoint saved in {self.checkpoint_dir}", self.checkpoint_dir
        )

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
                    f"training diverged in epoch {epoch}: after its last mini-batch the {name} "
                    f"cost is {cost}; try a smaller eta (now {self.optimizer.eta:g})"
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
        if self.history.stop_reason != "completed" or self.epoch >= self.config.epochs:
            return self.history  # a resumed run that had already finished
        remaining = (self.config.epochs - self.epoch) * n_batches - self.batch
        with _progress_bar(self.progress, remaining, n_batches) as advance:
            while self.epoch < self.config.epochs:
                started = time.perf_counter()
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                    learning_speed = self.run_epoch(advance)
                self.epoch += 1
                record = self.record(self.epoch, time.perf_counter() - started, learning_speed)
                self.history.records.append(record)
                reason = self.stop_reason_after(record)
                if reason is not None:
                    self.history.stop_reason = reason
                self.save_checkpoint()
                for callback in self.callbacks:
                    callback(record)
                if reason is not None:
                    break
                if self.epoch < self.config.epochs and self.should_stop():
                    self._interrupt()
        return self.history


class _progress_bar:
    """A rich progress bar over all mini-batches of the run, or nothing when disabled."""

    def __init__(self, progress: Any, total: int, batches_per_epoch: int) -> None:
        self.enabled = bool(progress)
        self.console = None if isinstance(progress, bool) else progress
        self.total = total
        self.every = max(1, batches_per_epoch // 50)  # redraw ~50 times per epoch, not per batch
        self.count = 0

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.progress import Progress

        self.bar = Progress(console=self.console, transient=True)
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
    epochs: int | None = None,
    batch_size: int | None = None,
    eta: float | None = None,
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
    progress: bool | Any = False,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_extra: dict[str, Any] | None = None,
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
        progress: show a progress bar (True), on a given rich Console.
        checkpoint_dir: save a checkpoint there (atomically) at the end of every epoch.
        resume: a checkpoint directory to continue from, with the configuration stored there
            (training options given here must then be left out or equal). ``net`` must have the
            checkpoint's architecture, X and y must be the run's training data; the checkpoint
            directory keeps being written unless ``checkpoint_dir`` names another.
        should_stop: called after every mini-batch; when it returns True, a checkpoint of the
            position is saved and ``TrainingInterrupted`` raised.
        checkpoint_extra: JSON-ready values stored in every checkpoint (the command line keeps its
            options there).

    Returns:
        The History of per-epoch records (of the whole run, when resuming).

    Raises:
        TrainingDivergedError: the gradient or a monitored cost became NaN or infinite; the message
            names the epoch (and mini-batch) and no checkpoint of the diverged state is written.
        TrainingInterrupted: ``should_stop`` asked to stop.
    """
    options = {
        "epochs": epochs, "batch_size": batch_size, "eta": eta, "lmbda": lmbda, "l1": l1,
        "momentum": momentum, "dropout": dropout, "schedule": schedule,
        "early_stopping": early_stopping, "shuffle": bool(shuffle), "seed": seed,
    }
    saved = checkpoint.load_checkpoint(resume) if resume is not None else None
    config = _config_from(options, saved)
    _check_architecture(net, saved)
    train = _evaluation_set(net, X, y, "training")
    monitored = {
        name: _evaluation_set(net, *_pair(data, f"{name}_data"), name)
        for name, data in (("validation", validation_data), ("test", test_data))
        if data is not None
    }
    if (config.schedule is not None or config.early_stopping is not None) and (
        "validation" not in monitored
    ):
        raise ValueError("schedule and early_stopping need validation_data, got none")
    net.training_config = config.as_dict()
    trainer = _Trainer(net, train, config, monitored, callbacks, progress)
    if checkpoint_dir is None and resume is not None:
        checkpoint_dir = resume
    if checkpoint_dir is not None:
        trainer.checkpoint_dir = os.fspath(checkpoint_dir)
        trainer.data_fingerprint = checkpoint.data_fingerprint(train.X, train.Y)
        trainer.checkpoint_extra = dict(checkpoint_extra or {})
    if saved is not None:
        trainer.restore(saved)
    if should_stop is not None:
        trainer.should_stop = should_stop
    return trainer.run()


_DEFAULTS = {"lmbda": 0.0, "l1": 0.0, "momentum": 0.0, "dropout": 0.0, "schedule": None,
             "early_stopping": None, "shuffle": True, "seed": None}


def _config_from(options: dict[str, Any], saved: checkpoint.Checkpoint | None) -> TrainingConfig:
    """The run's configuration: the options given, or those of the checkpoint being resumed."""
    if saved is None:
        missing = [name for name in ("epochs", "batch_size", "eta") if options[name] is None]
        if missing:
            raise TypeError(f"fit needs {', '.join(missing)} (or resume=DIR to continue a run)")
        return TrainingConfig(**options)
    stored = saved.state["config"]
    for name, value in options.items():
        given = value is not None and value != _DEFAULTS.get(name)
        if given and value != stored.get(name):
            raise ValueError(
                f"{name}={value!r} differs from the checkpoint's {name}={stored.get(name)!r}; "
                f"a resumed run keeps its original configuration"
            )
    try:
        return TrainingConfig(**stored)
    except (TypeError, ValueError) as error:
        raise ModelFormatError(f"{saved.path}: invalid training configuration: {error}") from None


def _check_architecture(net: Network, saved: checkpoint.Checkpoint | None) -> None:
    if saved is None:
        return
    theirs, ours = saved.net, net
    if (list(theirs.sizes), theirs.activation_names, theirs.cost_function.name, theirs.dtype) != (
        list(ours.sizes), ours.activation_names, ours.cost_function.name, ours.dtype
    ):
        raise ValueError(
            f"the network {ours!r} does not match the checkpoint's {theirs!r} in {saved.path}"
        )


__all__ = ["SGD", "History", "TrainingConfig", "fit"]
