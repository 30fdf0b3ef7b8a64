"""Mini-batch stochastic gradient descent and its toolbox (Nielsen, chapters 1 and 3).

``fit`` trains a network in place. Each epoch draws an order of the training rows; each mini-batch of
k rows is gathered by index into buffers allocated once (the training data are never copied), and a
step is the book's: backpropagation (``Network.gradient``) gives ∇C of the mini-batch's mean cost,
and the optimizer (``deltaprop.optimizers``) moves the parameters. The step allocates nothing: the
network's workspace, the activation and cost kernels and the optimizer write into arrays they own.

After each epoch ``fit`` records costs and accuracies (``deltaprop.history``), applies the η schedule
and early stopping, and hands the trainer to the callbacks and the checkpoint store. Where the
trainer's state goes is not this module's business: a ``CheckpointStore`` (``deltaprop.checkpoint``)
saves and loads ``Trainer.state()``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from deltaprop._validation import as_labels, as_sample_weight, check_same_rows
from deltaprop.errors import ModelFormatError, TrainingDivergedError, TrainingInterrupted
from deltaprop.history import EpochSums, History
from deltaprop.monitoring import Monitor
from deltaprop.network import Network, Workspace, mean_weights
from deltaprop.optimizers import SGD, Adam, Optimizer
from deltaprop.options import TrainingConfig, default

Array = np.ndarray
Callback = Callable[[dict[str, Any]], Any]
MIN_ETA_FRACTION = 1 / 128  # the schedule stops once η has fallen to η0/128
SMALL_PRODUCT = 1 << 22  # multiply-adds of the largest product of a step below which BLAS gets 1 thread


class CheckpointStore(Protocol):
    """Where a trainer's state goes: ``deltaprop.checkpoint.Checkpoint`` is the one deltaprop has."""

    def save(self, trainer: Trainer) -> None: ...

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(state numbers, {"weights": [...], "biases": [...], "optimizer": {slot: [...]}}), or None
        when nothing was saved; the numbers hold ``network``: sizes, activations, cost, dtype."""


class TrainingData:
    """Checked training rows: X (n, n_in), targets Y (n, n_out), labels (n,) or None, weights or None.

    Arrays already of the network's dtype and C-contiguous are used as they are, never copied.
    """

    def __init__(self, net: Network, X: Any, y: Any, sample_weight: Any, name: str) -> None:
        self.X = np.ascontiguousarray(net.check_X(X, f"{name} X"))
        self.Y = net.check_Y(y, f"{name} y")
        check_same_rows(f"{name} X", self.X, f"{name} y", self.Y)
        self.labels = _labels_of(y, self.Y, net.sizes[-1], name)
        self.weights = None if sample_weight is None else as_sample_weight(
            f"{name} sample_weight", sample_weight, self.X.shape[0], net.dtype)

    @property
    def rows(self) -> int:
        return self.X.shape[0]


def _labels_of(y: Any, Y: Array, n_out: int, name: str) -> Array | None:
    """Class labels when the targets are labels or one-hot rows; None for other float targets."""
    y = np.asarray(y)
    if y.ndim == 1:
        return as_labels(f"{name} y", y, n_out)
    one_hot_rows = n_out > 1 and np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)
    return np.argmax(Y, axis=1) if one_hot_rows else None


def make_optimizer(config: TrainingConfig, n: int) -> Optimizer:
    """The optimizer a configuration names, with its η, regularization and n training rows."""
    assert config.eta is not None  # set by TrainingConfig
    if config.optimizer == "adam":
        return Adam(config.eta, config.lmbda, config.l1, n, config.beta_1, config.beta_2, config.epsilon)
    return SGD(config.eta, config.lmbda, config.l1, n, config.momentum, config.nesterov)


class Trainer:
    """One training run: the network, its data, the optimizer and the position reached.

    Position: ``epoch`` epochs are complete and ``batch`` mini-batches of the next one are done.
    Shuffling and dropout draw from one Generator; its state at the start of the current epoch is
    kept so that the epoch's order can be drawn again when resuming in the middle of it.
    """

    def __init__(self, net: Network, data: TrainingData, config: TrainingConfig,
                 monitor: Monitor) -> None:
        self.net, self.data, self.config, self.monitor = net, data, config, monitor
        self.optimizer = make_optimizer(config, data.rows)
        self.rng = np.random.default_rng(config.seed)
        self.rng_epoch_start = self.rng.bit_generator.state
        k = min(config.batch_size, data.rows)
        self.workspace = Workspace(net, k, dropout=bool(config.dropout))
        self.batch_X = np.empty((k, net.sizes[0]), net.dtype)
        self.batch_Y = np.empty((k, net.sizes[-1]), net.dtype)
        self.masks = [np.empty((k, n), net.dtype) for n in net.sizes[1:-1]]
        self.sums = EpochSums(net, k)
        self.history = History()
        self.best_validation, self.epochs_without_improvement = -math.inf, 0
        self.epoch, self.batch = 0, 0
        self.order: Array | None = None
        self.should_stop: Callable[[], bool] = lambda: False
        self.checkpoint: CheckpointStore | None = None
        self.fingerprint: dict[str, Any] = {}  # of the training data, stored in checkpoints

    @property
    def batches_per_epoch(self) -> int:
        return -(-self.data.rows // self.config.batch_size)

    # -- one mini-batch ---------------------------------------------------------------------------

    def _draw_order(self) -> None:
        """This epoch's order of the rows (None: row order). Mid-epoch (after a resume) the order is
        drawn again from the generator's state at the epoch's start, which then continues."""
        if not self.config.shuffle:
            self.order = None
            return
        current = self.rng.bit_generator.state
        if self.batch == 0:
            self.rng_epoch_start = current
        else:
            self.rng.bit_generator.state = self.rng_epoch_start
        self.order = self.rng.permutation(self.data.rows)
        if self.batch != 0:
            self.rng.bit_generator.state = current

    def _mini_batch(self, start: int) -> tuple[Array, Array, Array | None, Array | None]:
        """Rows start..start+k of this epoch's order: X, Y, sample weights, labels (views, or
        gathered by index into the preallocated buffers)."""
        data, stop = self.data, min(start + self.config.batch_size, self.data.rows)
        if self.order is None:
            rows: slice | Array = slice(start, stop)
            X, Y = data.X[rows], data.Y[rows]
        else:
            rows = self.order[start:stop]
            m = stop - start
            # mode="clip": valid indices; the default would gather into a temporary first
            X = np.take(data.X, rows, axis=0, out=self.batch_X[:m], mode="clip")
            Y = np.take(data.Y, rows, axis=0, out=self.batch_Y[:m], mode="clip")
        weights = None if data.weights is None else data.weights[rows]
        labels = None if data.labels is None else data.labels[rows]
        return X, Y, weights, labels

    def _dropout_masks(self, m: int) -> list[Array] | None:
        """Inverted dropout: each hidden unit kept with probability 1 − p, scaled by 1/(1 − p)."""
        p = self.config.dropout
        if not p:
            return None
        masks = [mask[:m] for mask in self.masks]
        for mask in masks:
            self.rng.random(out=mask, dtype=mask.dtype)
            np.greater_equal(mask, p, out=mask)
            mask *= 1.0 / (1.0 - p)
        return masks

    def step(self, start: int) -> None:
        """One step of mini-batch SGD on the rows from ``start``: backprop, then the update."""
        X, Y, weights, labels = self._mini_batch(start)
        row_weights = None if weights is None else mean_weights(weights)
        nabla_b, nabla_w = self.net.gradient(X, Y, row_weights, self._dropout_masks(X.shape[0]),
                                             self.workspace)
        space = self.workspace.rows(X.shape[0])
        self.sums.add(space.zs[-1], space.activations[-1], Y, weights, labels, nabla_b)
        self.optimizer.step(self.net.weights, self.net.biases, nabla_w, nabla_b)

    # -- one epoch --------------------------------------------------------------------------------

    def run_epoch(self, on_batch: Callable[[], None]) -> None:
        """Train the rest of the current epoch (from mini-batch ``batch``)."""
        self._draw_order()
        k, n_batches = self.config.batch_size, self.batches_per_epoch
        checked = self.batch
        while self.batch < n_batches:
            self.step(self.batch * k)
            self.batch += 1
            on_batch()
            if self.sums.filled == 0 or self.batch == n_batches:  # a block of costs was computed
                self._check_finite(checked)
                checked = self.batch
            if self.batch < n_batches and self.should_stop():
                self.interrupt()

    def _check_finite(self, since: int) -> None:
        params = self.net.weights + self.net.biases
        if not (self.sums.finite() and all(bool(np.isfinite(p).all()) for p in params)):
            raise TrainingDivergedError(
                f"training diverged in epoch {self.epoch + 1}, between mini-batches {since + 1} and "
                f"{self.batch}: the cost or the gradient became NaN or infinite; try a smaller eta "
                f"(now {self.optimizer.eta:g})"
            )

    def interrupt(self) -> None:
        """Save the position reached (when there is a checkpoint store) and stop."""
        where = f"in epoch {self.epoch + 1} after mini-batch {self.batch}"
        if self.checkpoint is None:
            raise TrainingInterrupted(f"training interrupted {where}; no checkpoint was kept", "")
        self.checkpoint.save(self)
        directory = str(getattr(self.checkpoint, "directory", ""))
        raise TrainingInterrupted(
            f"training interrupted {where}; checkpoint saved in {directory}", directory)

    # -- the run ----------------------------------------------------------------------------------

    def end_epoch(self, seconds: float) -> dict[str, Any]:
        """Record the epoch just trained, apply the schedule; returns the record."""
        self.epoch += 1
        record = self.monitor.record(self, seconds)
        self.history.records.append(record)
        reason = self._stop_reason_after(record)
        if reason is not None:
            self.history.stop_reason = reason
        self.batch = 0
        self.sums.reset()
        return record

    def _stop_reason_after(self, record: dict[str, Any]) -> str | None:
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
            assert self.config.eta is not None
            if self.optimizer.eta <= self.config.eta * MIN_ETA_FRACTION * (1 + 1e-12):
                return "schedule: eta fell to eta0/128"
        return None

    def run(self, callbacks: Sequence[Callback], progress: Any) -> History:
        if self.history.stop_reason != "completed" or self.epoch >= self.config.epochs:
            return self.history  # a resumed run that had already finished
        remaining = (self.config.epochs - self.epoch) * self.batches_per_epoch - self.batch
        with _progress_bar(progress, remaining, self.batches_per_epoch) as advance, \
                _blas_threads_for(self), np.errstate(over="ignore", invalid="ignore"):
            while self.epoch < self.config.epochs:
                started = time.perf_counter()
                self.run_epoch(advance)
                record = self.end_epoch(time.perf_counter() - started)
                if self.checkpoint is not None:
                    self.checkpoint.save(self)
                for callback in callbacks:
                    callback(record)
                if self.history.stop_reason != "completed":
                    break
                if self.epoch < self.config.epochs and self.should_stop():
                    self.interrupt()
        return self.history

    # -- state, for checkpoints -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, list[Array]]]:
        """(numbers, optimizer slot arrays): JSON-ready values and the arrays that go as tensors."""
        numbers, arrays = self.optimizer.state()
        best = self.best_validation
        return {
            "config": self.config.as_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "optimizer": numbers,
            "best_validation": best if math.isfinite(best) else None,
            "epochs_without_improvement": self.epochs_without_improvement,
            "rng": self.rng.bit_generator.state,
            "rng_epoch_start": self.rng_epoch_start,
            "sums": self.sums.state(),
            "history": self.history.as_dict(),
            "data": self.fingerprint,
        }, arrays

    def load_state(self, numbers: dict[str, Any], arrays: dict[str, list[Array]],
                   weights: list[Array], biases: list[Array]) -> None:
        """Continue from ``state()``: parameters copied into the network's arrays, position, RNG."""
        for target, source in zip(self.net.weights + self.net.biases, weights + biases, strict=True):
            np.copyto(target, source)
        self.optimizer.load_state(numbers["optimizer"], arrays)
        best = numbers["best_validation"]
        self.best_validation = -math.inf if best is None else best
        self.epochs_without_improvement = numbers["epochs_without_improvement"]
        self.epoch, self.batch = numbers["epoch"], numbers["batch"]
        self.rng_epoch_start = numbers["rng_epoch_start"]
        self.rng.bit_generator.state = numbers["rng"]
        self.sums.load_state(numbers["sums"])
        self.history = History(list(numbers["history"]["records"]), numbers["history"]["stop_reason"])


class _progress_bar:
    """A rich progress bar over all mini-batches of the run, or nothing when disabled."""

    def __init__(self, progress: Any, total: int, batches_per_epoch: int) -> None:
        self.enabled = bool(progress)
        self.console = None if isinstance(progress, bool) else progress
        self.total, self.count = total, 0
        self.every = max(1, batches_per_epoch // 50)  # redraw ~50 times per epoch, not per batch

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


_controller: Any = None


@contextlib.contextmanager
def _blas_threads_for(trainer: Trainer) -> Iterator[None]:
    """One BLAS thread while the step's products are small: splitting a product of ~1e6 multiply-adds
    costs more in hand-off than it saves, and on a busy machine a waiting thread stalls every step."""
    global _controller
    net, k = trainer.net, trainer.workspace.m
    if k * max(n_in * n_out for n_in, n_out in net.layer_shapes()) >= SMALL_PRODUCT:
        yield
        return
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield


def _pair(data: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(data, Sequence) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    return data[0], data[1]


def data_fingerprint(data: TrainingData) -> dict[str, Any]:
    """Rows, columns and a BLAKE2 digest of the training arrays, to refuse resuming on other data."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for array in (data.X, data.Y) + (() if data.weights is None else (data.weights,)):
        for start in range(0, array.shape[0], 4096):  # bounded memory for non-contiguous arrays
            digest.update(np.ascontiguousarray(array[start:start + 4096]).view(np.uint8).reshape(-1))
    return {"rows": int(data.X.shape[0]), "columns": int(data.X.shape[1]), "blake2b": digest.hexdigest()}


def fit(
    net: Network,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    epochs: int = default("epochs"),
    batch_size: int = default("batch_size"),
    eta: float | None = default("eta"),
    lmbda: float = default("lmbda"),
    l1: float = default("l1"),
    optimizer: str = default("optimizer"),
    momentum: float = default("momentum"),
    nesterov: bool = default("nesterov"),
    beta_1: float = default("beta_1"),
    beta_2: float = default("beta_2"),
    epsilon: float = default("epsilon"),
    dropout: float = default("dropout"),
    schedule: int | None = default("schedule"),
    early_stopping: int | None = default("early_stopping"),
    shuffle: bool = default("shuffle"),
    seed: int | None = default("seed"),
    train_metrics: str = default("train_metrics"),
    validation_data: tuple[Any, Any] | None = None,
    test_data: tuple[Any, Any] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool | Any = False,
    should_stop: Callable[[], bool] | None = None,
    checkpoint: CheckpointStore | None = None,
    resume: bool = False,
) -> History:
    """Train ``net`` in place by mini-batch stochastic gradient descent.

    Args:
        net: the network to train.
        X: training inputs, shape (n, sizes[0]); used in place when already of the network's dtype.
        y: class labels of shape (n,) (one-hot encoded internally) or targets (n, sizes[-1]).
        sample_weight: optional weights s_x >= 0 of the rows, shape (n,): each mini-batch's cost is
            then the weighted mean Σ s_x C_x / Σ s_x (so scaling all weights changes nothing).
        epochs .. train_metrics: the training options; ``deltaprop.options.TrainingConfig`` documents
            each (the same table as ``deltaprop train --help``).
        validation_data, test_data: (X, y) pairs evaluated after every epoch.
        callbacks: functions called with each epoch's record (a dict; see ``History``).
        progress: show a progress bar (True), on a given rich Console.
        should_stop: called after every mini-batch; when it returns True, the position is saved to
            ``checkpoint`` (if any) and ``TrainingInterrupted`` raised.
        checkpoint: where to save the trainer's state at the end of every epoch, e.g.
            ``deltaprop.checkpoint.Checkpoint(directory)``.
        resume: continue from the state in ``checkpoint``, with the configuration stored there
            (training options given here must then be left at their defaults or equal).

    Returns:
        The History of per-epoch records (of the whole run, when resuming).

    Raises:
        TrainingDivergedError: the cost or gradient became NaN or infinite; the message names the
            epoch and mini-batches, and no checkpoint of the diverged state is written.
        TrainingInterrupted: ``should_stop`` asked to stop.
    """
    options = {
        "epochs": epochs, "batch_size": batch_size, "eta": eta, "lmbda": lmbda, "l1": l1,
        "optimizer": optimizer, "momentum": momentum, "nesterov": nesterov, "beta_1": beta_1,
        "beta_2": beta_2, "epsilon": epsilon, "dropout": dropout, "schedule": schedule,
        "early_stopping": early_stopping, "shuffle": shuffle, "seed": seed,
        "train_metrics": train_metrics,
    }
    saved = _saved_state(checkpoint, resume)
    config = _config_from(options, None if saved is None else saved[0]["config"])
    data = TrainingData(net, X, y, sample_weight, "training")
    monitored = {
        name: TrainingData(net, *_pair(pair, f"{name}_data"), None, name)
        for name, pair in (("validation", validation_data), ("test", test_data)) if pair is not None
    }
    if (config.schedule is not None or config.early_stopping is not None) and (
        "validation" not in monitored
    ):
        raise ValueError("schedule and early_stopping need validation_data, got none")
    trainer = Trainer(net, data, config, Monitor(net, monitored))
    trainer.checkpoint = checkpoint
    trainer.fingerprint = data_fingerprint(data) if checkpoint is not None else {}
    if saved is not None:
        _restore(trainer, *saved)
    if should_stop is not None:
        trainer.should_stop = should_stop
    net.training_config = config.as_dict()
    return trainer.run(list(callbacks), progress)


def _saved_state(checkpoint: CheckpointStore | None,
                 resume: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not resume:
        return None
    if checkpoint is None:
        raise ValueError("resume=True needs a checkpoint to resume from, got checkpoint=None")
    saved = checkpoint.load()
    if saved is None:
        raise FileNotFoundError(f"no checkpoint to resume in {getattr(checkpoint, 'directory', '?')}")
    return saved


def _config_from(options: dict[str, Any], stored: dict[str, Any] | None) -> TrainingConfig:
    """The run's configuration: the options given, or those stored in the checkpoint being resumed."""
    if stored is None:
        return TrainingConfig(**options)
    for name, value in options.items():
        if value != default(name) and value != stored.get(name):
            raise ValueError(
                f"{name}={value!r} differs from the checkpoint's {name}={stored.get(name)!r}; "
                f"a resumed run keeps its original configuration"
            )
    try:
        return TrainingConfig(**stored)
    except (TypeError, ValueError) as error:
        raise ModelFormatError(f"the checkpoint's training configuration is invalid: {error}") from None


def describe(net: Network) -> dict[str, Any]:
    """What a checkpoint must match to be resumed into ``net``."""
    return {"sizes": list(net.sizes), "activations": net.activation_names,
            "cost": net.cost_function.name, "dtype": net.dtype.name}


def _restore(trainer: Trainer, numbers: dict[str, Any], tensors: dict[str, Any]) -> None:
    if numbers.get("network") != describe(trainer.net):
        raise ValueError(
            f"the network {trainer.net!r} does not match the checkpoint's {numbers.get('network')}")
    if numbers.get("data") != trainer.fingerprint:
        stored = numbers.get("data") or {}
        raise ValueError(
            f"the training data differ from the checkpoint's: expected {stored.get('rows')} rows x "
            f"{stored.get('columns')} columns with the same values; resume with the data the run "
            f"started with"
        )
    trainer.load_state(numbers, tensors["optimizer"], tensors["weights"], tensors["biases"])


__all__ = ["CheckpointStore", "Trainer", "TrainingConfig", "TrainingData", "fit"]
