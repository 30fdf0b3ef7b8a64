"""The training loop: one ``Trainer`` per run, stepping through epochs and mini-batches.

Each epoch draws an order of the training rows; each mini-batch of k rows is gathered by index into
buffers allocated once (the training data are never copied), and a step is the book's:
backpropagation (``Network.gradient``) gives ∇C of the mini-batch's mean cost, and the optimizer
(``deltaprop.optimizers``) moves the parameters. The step allocates nothing: the network's workspace,
the activation and cost kernels and the optimizer write into arrays they own.

One loop (``run`` → ``run_epoch`` → ``step``) serves every driver through its ``Hooks``: the trainer's
own are ``fit``'s (records, ``deltaprop.monitoring``; the η schedule, ``deltaprop.schedules``; early
stopping, the best epoch's parameters kept aside (``keep``), checkpoints, callbacks), the
estimators' scikit-learn's (``deltaprop.sklearn._training``: they keep their best as scikit-learn
does, never by ``keep``).
Where the state goes is not this module's business: a ``CheckpointStore`` saves ``Trainer.state()``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from deltaprop.errors import TrainingDivergedError, TrainingInterrupted
from deltaprop.history import KEPT_SLOT, EpochSums, History, validation_score
from deltaprop.monitoring import Monitor, check_training_memory, diverged_advice
from deltaprop.network import Network, Workspace
from deltaprop.optimizers import Optimizer
from deltaprop.options import TrainingConfig
from deltaprop.schedules import SCHEDULES
from deltaprop.training_data import TrainingData

Array = np.ndarray
Callback = Callable[[dict[str, Any]], Any]
SMALL_PRODUCT = 1 << 22  # multiply-adds of the largest product of a step below which BLAS gets 1 thread


class CheckpointStore(Protocol):
    """Where a trainer's state goes: ``deltaprop.checkpoint.Checkpoint`` is the one deltaprop has."""

    def save(self, trainer: Trainer) -> None: ...

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(state numbers, {"weights": [...], "biases": [...], "optimizer": {slot: [...]}}), or None
        when nothing was saved; the numbers hold ``network``: the saved ``Network.architecture``;
        the slots are the optimizer's and (``KEPT_SLOT``) the kept epoch's parameters."""


class Hooks(Protocol):
    """A driver's part in the loop (``Trainer.hooks``; None: the trainer's own methods, ``fit``'s,
    without a reference cycle). ``start_epoch`` gives the epoch's row order (indices (n,); None: row order);
    ``measure`` sees each mini-batch after backprop, before its update (``space``: its forward pass,
    m rows; Y (m, n_out); weights, labels (m,) or None; weight_sum Σ s_x; nabla_b ∂C/∂b^l);
    ``after_step`` follows each update; ``end_epoch`` each epoch (counted) and says whether to stop."""

    def start_epoch(self) -> Array | None: ...
    def measure(self, space: Workspace, Y: Array, weights: Array | None, weight_sum: float,
                labels: Array | None, nabla_b: list[Array]) -> None: ...
    def after_step(self) -> None: ...
    def end_epoch(self, seconds: float) -> bool: ...


class Trainer:
    """One training run: the network, its data, the optimizer and the position reached.

    ``monitored`` names the data sets evaluated after each epoch (validation, test); the memory the
    run needs is checked once, here, before any of its buffers is allocated.

    Position: ``epoch`` epochs are complete and ``batch`` mini-batches of the next one are done.
    Shuffling and dropout draw from one Generator; its state at the start of the current epoch is
    kept so that the epoch's order can be drawn again when resuming in the middle of it.
    """

    def __init__(self, net: Network, data: TrainingData, config: TrainingConfig,
                 monitored: dict[str, TrainingData] | None = None, optimizer: Optimizer | None = None,
                 ) -> None:
        self.net, self.data, self.config = net, data, config
        self.regularization = config.regularization  # made once: the property makes a new one
        self.batches_per_epoch = -(-data.rows // config.batch_size)
        self.optimizer = config.make_optimizer(data.rows) if optimizer is None else optimizer
        self.rng = np.random.default_rng(config.seed)
        self.rng_epoch_start = self.rng.bit_generator.state
        k = min(config.batch_size, data.rows)
        check_training_memory(net, config, data.rows, len(self.optimizer.slots))  # every buffer below
        self.monitor = Monitor(net, monitored or {})  # evaluates the monitored data after each epoch
        self.workspace = Workspace(net.sizes, net.dtype, k, dropout=bool(config.dropout))
        self.batch_X = np.empty((k, net.sizes[0]), net.dtype)
        self.batch_Y = np.empty((k, net.sizes[-1]), net.dtype)
        self.masks = [np.empty((k, n), net.dtype) for n in net.sizes[1:-1]]
        self.sums = EpochSums(net, k)
        self.history = History()
        self.kept_parameters: list[Array] | None = None  # the parameters of history.kept_epoch (keep="best")
        self.best_validation, self.epochs_without_improvement = -math.inf, 0
        self.schedule = None if config.schedule is None else SCHEDULES["halve"](config.eta)
        self.epoch, self.batch = 0, 0
        self.order: Array | None = None
        self.should_stop: Callable[[], bool] = lambda: False
        self.checkpoint: CheckpointStore | None = None
        self.fingerprint: dict[str, Any] = {}  # of the training data, stored in checkpoints
        self.hooks: Hooks | None = None
        self.callbacks: Sequence[Callback] = ()
        self.advance: Callable[[], None] = lambda: None  # the progress bar's
        self.checked = 0  # the mini-batch after which the parameters were last found finite

    # -- one mini-batch ---------------------------------------------------------------------------

    def start_epoch(self) -> Array | None:
        """``fit``'s order of the rows: a permutation drawn from the run's generator (None: row order,
        without ``shuffle``). Mid-epoch (after a resume) the order is drawn again from the generator's
        state at the epoch's start, which then continues."""
        self.checked = self.batch
        if not self.config.shuffle:
            return None
        current = self.rng.bit_generator.state
        if self.batch == 0:
            self.rng_epoch_start = current
        else:
            self.rng.bit_generator.state = self.rng_epoch_start
        order = self.rng.permutation(self.data.rows)
        if self.batch != 0:
            self.rng.bit_generator.state = current
        return order

    def mini_batch(self, start: int) -> tuple[Array, Array, Array | None, Array | None]:
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
            X = data.X.take(rows, axis=0, out=self.batch_X[:m], mode="clip")
            Y = data.Y.take(rows, axis=0, out=self.batch_Y[:m], mode="clip")
        weights = None if data.weights is None else data.weights[rows]
        labels = None if data.labels is None else data.labels[rows]
        return X, Y, weights, labels

    def dropout_masks(self, m: int) -> list[Array] | None:
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

    def step(self, start: int, hooks: Hooks) -> None:
        """One step of mini-batch SGD on the rows from ``start``: backprop, hooks.measure, update."""
        X, Y, weights, labels = self.mini_batch(start)
        m = X.shape[0]
        weight_sum = m if weights is None else float(weights.sum())
        if weight_sum == 0:  # rows of weight 0 teach nothing: no step
            return
        row_weights = None if weights is None else weights / weight_sum  # r_x = s_x / Σ s_x
        self.optimizer.n = self.regularization.n(self.data.rows, weight_sum)
        nabla_b, nabla_w = self.net.gradient(X, Y, row_weights, self.dropout_masks(m), self.workspace)
        hooks.measure(self.workspace.rows(m), Y, weights, weight_sum, labels, nabla_b)
        self.optimizer.step(self.net.weights, self.net.biases, nabla_w, nabla_b,
                            self.workspace.gradient)

    def measure(self, space: Workspace, Y: Array, weights: Array | None, weight_sum: float,
                labels: Array | None, nabla_b: list[Array]) -> None:
        """``fit``'s: the epoch's running sums of cost, accuracy and bias gradients."""
        self.sums.add(space.zs[-1], space.activations[-1], Y, weights, labels, nabla_b)

    # -- one epoch --------------------------------------------------------------------------------

    def run_epoch(self, hooks: Hooks) -> None:
        """Train the rest of the current epoch (from mini-batch ``batch``) in the hooks' order."""
        self.order = hooks.start_epoch()
        k, n_batches = self.config.batch_size, self.batches_per_epoch
        while self.batch < n_batches:
            self.step(self.batch * k, hooks)
            self.batch += 1
            hooks.after_step()

    def after_step(self) -> None:
        """``fit``'s: advance the progress bar, check that the parameters are finite after each block
        of costs, and stop between two steps when asked to."""
        self.advance()
        if self.sums.filled == 0 or self.batch == self.batches_per_epoch:  # a block of costs computed
            self._check_finite(self.checked)
            self.checked = self.batch
        if self.batch < self.batches_per_epoch and self.should_stop():
            self.interrupt()

    def _check_finite(self, since: int) -> None:
        arrays = self.net.weights + self.net.biases
        arrays += [a for slot in self.optimizer.arrays.values() for a in slot]
        if self.sums.finite() and all(bool(np.isfinite(a).all()) for a in arrays):
            return
        cause = diverged_advice(self.optimizer.eta, self.config)
        raise TrainingDivergedError(
            f"training diverged in epoch {self.epoch + 1}, between mini-batches {since + 1} and "
            f"{self.batch}: the cost, the gradient or the optimizer's state became NaN or "
            f"infinite; {cause}"
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

    def end_epoch(self, seconds: float) -> bool:
        """``fit``'s: record the epoch, apply the η schedule and early stopping, save the checkpoint,
        call the callbacks; a stop request between two epochs interrupts."""
        record = self.monitor.record(self.epoch, self.optimizer.eta, seconds, self.config, self.data,
                                     self.sums)
        self.history.records.append(record)
        self._keep_if_best(record)
        reason = self._stop_reason_after(record)
        if reason is not None:
            self.history.stop_reason = reason
        self.sums.reset()
        if self.checkpoint is not None:
            self.checkpoint.save(self)
        for callback in self.callbacks:
            callback(record)
        if reason is None and self.epoch < self.config.epochs and self.should_stop():
            self.interrupt()
        return reason is not None

    def _keep_if_best(self, record: dict[str, Any]) -> None:
        """With ``keep="best"``: copy the parameters aside when this epoch's validation score beats
        the kept epoch's (strictly: the earliest of exact equals stays), the copy made on the first."""
        score, kept = validation_score(record), self.history.kept()
        if self.config.keep != "best" or score is None or (
                kept is not None and score <= validation_score(kept)):
            return
        parameters = self.net.weights + self.net.biases
        if self.kept_parameters is None:
            self.kept_parameters = [array.copy() for array in parameters]
        else:
            for target, source in zip(self.kept_parameters, parameters, strict=True):
                np.copyto(target, source)
        self.history.kept_epoch = record["epoch"]

    def finish(self) -> History:
        """The end of a run: the kept epoch's parameters back in the network (when some were kept
        aside), else the last epoch named as kept; returns the History."""
        if self.kept_parameters is not None:
            for target, source in zip(self.net.weights + self.net.biases, self.kept_parameters, strict=True):
                np.copyto(target, source)
        elif self.history.records:
            self.history.kept_epoch = self.history.records[-1]["epoch"]
        return self.history

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
        if self.schedule is not None and self.epochs_without_improvement >= self.config.schedule:
            self.epochs_without_improvement = 0
            return self.schedule.stalled(self.optimizer)
        return None

    def run(self, callbacks: Sequence[Callback] = (), progress: Any = False) -> History:
        """Train until ``config.epochs`` epochs are done or ``hooks.end_epoch`` stops, then ``finish``;
        returns ``fit``'s History, whose records ``callbacks`` get; ``progress``: a progress bar (on a
        given Console)."""
        if self.history.stop_reason != "completed" or self.epoch >= self.config.epochs:
            return self.finish()  # a resumed run that had already finished
        self.callbacks, hooks = callbacks, self if self.hooks is None else self.hooks
        remaining = (self.config.epochs - self.epoch) * self.batches_per_epoch - self.batch
        with _progress_bar(progress, remaining, self.batches_per_epoch) as self.advance, \
                blas_threads_for(self), np.errstate(over="ignore", invalid="ignore"):
            while self.epoch < self.config.epochs:
                started = time.perf_counter()
                self.run_epoch(hooks)
                self.epoch, self.batch = self.epoch + 1, 0
                if hooks.end_epoch(time.perf_counter() - started):
                    break
        return self.finish()

    # -- state, for checkpoints -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, list[Array]]]:
        """(numbers, slot arrays): JSON-ready values and the arrays that go as tensors, the
        optimizer's slots and (``KEPT_SLOT``) the kept epoch's parameters, weights then biases,
        unless they are the network's (the kept epoch just ended)."""
        numbers, arrays = self.optimizer.state()
        current = self.history.kept_epoch == self.epoch and self.batch == 0
        if self.kept_parameters is not None and not current:
            arrays = {**arrays, KEPT_SLOT: self.kept_parameters}
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
        """Continue from ``state()``: parameters copied into the network's arrays, the kept epoch's
        aside, position, RNG (``arrays``: the slot arrays ``state()`` gave)."""
        for target, source in zip(self.net.weights + self.net.biases, weights + biases, strict=True):
            np.copyto(target, source)
        # a state written before every optimizer counted its steps continues from the steps taken
        optimizer = dict(numbers["optimizer"])
        if optimizer.get("t") is None:
            optimizer["t"] = numbers["epoch"] * self.batches_per_epoch + numbers["batch"]
        arrays = dict(arrays)
        self.kept_parameters = arrays.pop(KEPT_SLOT, None)
        if self.kept_parameters is None and numbers["history"].get("kept_epoch") is not None:
            # saved at the end of the kept epoch: the parameters stored are the kept ones
            self.kept_parameters = [array.copy() for array in weights + biases]
        self.optimizer.load_state(optimizer, arrays)
        best = numbers["best_validation"]
        self.best_validation = -math.inf if best is None else best
        self.epochs_without_improvement = numbers["epochs_without_improvement"]
        self.epoch, self.batch = numbers["epoch"], numbers["batch"]
        self.rng_epoch_start = numbers["rng_epoch_start"]
        self.rng.bit_generator.state = numbers["rng"]
        self.sums.load_state(numbers["sums"])
        stored = numbers["history"]  # a state that predates kept_epoch kept none: the last is kept
        self.history = History(list(stored["records"]), stored["stop_reason"],
                               kept_epoch=stored.get("kept_epoch"))


class LiveProgress:
    """A live view of a run shown in place of the terminal's progress bar (a Jupyter notebook's:
    ``deltaprop.report.live``). ``fit`` calls ``begin`` before the first mini-batch with the run's
    mini-batches left and per epoch, ``step`` after each mini-batch, ``epoch_done`` with each epoch's
    record (see ``History``) and ``end`` when training stops, by an error too. Does nothing itself."""

    def begin(self, total: int, batches_per_epoch: int) -> None:
        """Training starts: ``total`` mini-batches to run, ``batches_per_epoch`` per epoch."""

    def step(self) -> None:
        """One more mini-batch is done."""

    def epoch_done(self, record: dict[str, Any]) -> None:
        """An epoch is done; ``record`` is its record."""

    def end(self) -> None:
        """Training stopped (done, stopped early, interrupted or diverged)."""


LIVE_PROGRESS: list[Callable[[int], LiveProgress | None]] = []
"""Makers of the live view ``fit(progress=True)`` shows, given the run's epochs; a maker returns None
where its view cannot show (outside a notebook). ``deltaprop.report.live`` adds the notebook's when
deltaprop is imported in IPython (this layer cannot import it)."""


def live_progress(epochs: int) -> LiveProgress | None:
    """The view of the first maker of ``LIVE_PROGRESS`` that has one for a run of ``epochs``, or None
    (then the terminal's bar shows)."""
    for make in LIVE_PROGRESS:
        view = make(epochs)
        if view is not None:
            return view
    return None


@contextlib.contextmanager
def _progress_bar(progress: Any, total: int, batches_per_epoch: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar over the run's ``total`` mini-batches (its advance by one), or nothing
    when ``progress`` is False; a Console given as ``progress`` shows it, a ``LiveProgress`` shows
    itself."""
    if not progress:
        yield lambda: None
        return
    if isinstance(progress, LiveProgress):
        progress.begin(total, batches_per_epoch)
        try:
            yield progress.step
        finally:
            progress.end()
        return
    from rich.progress import Progress

    every, count = max(1, batches_per_epoch // 50), 0  # redraw ~50 times per epoch, not per batch
    with Progress(console=None if isinstance(progress, bool) else progress, transient=True) as bar:
        task = bar.add_task("training", total=total)

        def advance() -> None:
            nonlocal count
            count += 1
            if count % every == 0:
                bar.update(task, completed=count)

        yield advance


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads_for(trainer: Trainer) -> Iterator[None]:
    """One BLAS thread while the step's products are small: splitting a product of ~1e6 multiply-adds
    costs more in hand-off than it saves, and on a busy machine a waiting thread stalls every step."""
    net, k = trainer.net, trainer.workspace.m
    if k * max(n_in * n_out for n_in, n_out in net.layer_shapes()) >= SMALL_PRODUCT:
        yield
        return
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield
