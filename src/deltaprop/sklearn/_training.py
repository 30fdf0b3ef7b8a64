"""scikit-learn's stochastic solvers on deltaprop: its optimizers, schedules and epochs.

Its ``SGDOptimizer`` is deltaprop's ``SGD`` step for step; its ``AdamOptimizer`` is ``Adam`` with
``sklearn_step=True`` (w → w − η_t m / (√v + ε)). Its ``learning_rate`` names a schedule of
``deltaprop.schedules.SCHEDULES``, which SGD follows (Adam keeps η; a stall stops). The epochs are
deltaprop's ``Trainer`` loop with ``EstimatorHooks``: each epoch's order drawn from scikit-learn's
RandomState, each mini-batch's loss as it reports it (``_losses``, from the step's forward pass), and
``_fit_stochastic``'s end of an epoch; the engine's monitoring (sums, records, checks) is left out.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from deltaprop.network import Workspace
from deltaprop.optimizers import SGD, Adam, Optimizer
from deltaprop.schedules import SCHEDULES
from deltaprop.sklearn._losses import batch_loss, loss_kind
from deltaprop.trainer import Trainer

if TYPE_CHECKING:
    from deltaprop.sklearn._base import BaseMLP

Array = np.ndarray


def solver_optimizer(solver: str, params: dict[str, Any]) -> Optimizer:
    """deltaprop's optimizer for scikit-learn's ``solver`` ("sgd" or "adam") and an estimator's
    parameters. ``n`` (the λ/n of the L2 term) is each mini-batch's Σ s (scikit-learn's alpha)."""
    eta, alpha, l1 = params["learning_rate_init"], params["alpha"], params["l1"]
    if solver == "adam":
        return Adam(eta, alpha, l1, sklearn_step=True, beta_1=params["beta_1"],
                    beta_2=params["beta_2"], epsilon=params["epsilon"])
    momentum = float(params["momentum"])
    return SGD(eta, alpha, l1, momentum=momentum,
               nesterov=bool(params["nesterovs_momentum"]) and momentum > 0)


class EstimatorHooks:
    """scikit-learn's hooks in a ``Trainer``'s loop (``deltaprop.trainer.Hooks``), fitting
    ``estimator`` (its attributes record the epochs) with ``trainer``; ``validation``: (X, y,
    sample_weight) scored after each epoch, or None; ``incremental``: partial_fit's one epoch."""

    def __init__(self, estimator: BaseMLP, trainer: Trainer, validation: Any,
                 random_state: np.random.RandomState, incremental: bool) -> None:
        self.estimator, self.net, self.optimizer = estimator, trainer.net, trainer.optimizer
        self.validation, self.random_state, self.incremental = validation, random_state, incremental
        self.rows, self.loss_sum = trainer.data.rows, 0.0  # Σ over the mini-batches of loss × rows
        self.order = np.arange(self.rows, dtype=int)
        self.loss_kind = loss_kind(self.net.cost_function, self.net.activations[-1])
        name = estimator.learning_rate if isinstance(self.optimizer, SGD) else "constant"  # Adam's
        options = {"power_t": estimator.power_t} if name == "invscaling" else {}
        self.schedule = SCHEDULES.get_entry(name)(estimator.learning_rate_init, **options)

    def start_epoch(self) -> Array | None:
        """The previous epoch's order shuffled by the RandomState (None: row order, no shuffle): the
        draw and result of ``sklearn.utils.shuffle``, without its checks (a fifth of a small fit)."""
        if not self.estimator.shuffle:
            return None
        indices = np.arange(self.rows)
        self.random_state.shuffle(indices)
        self.order = self.order[indices]
        return self.order

    def measure(self, space: Workspace, Y: Array, weights: Array | None, weight_sum: float,
                labels: Array | None, nabla_b: list[Array]) -> None:
        """Add the mini-batch's loss × its rows: scikit-learn's data term, plus α‖W‖²/2Σs and
        λ₁‖W‖₁/Σs of the weights before the step. (A mini-batch of weight 0 is skipped: loss 0.)"""
        net = self.net
        loss = batch_loss(self.loss_kind, net.cost_function, net.activations[-1], space.zs[-1],
                          space.activations[-1], Y, weights, labels)
        penalty = self.optimizer.regularization.penalty(net.weights, weight_sum)
        self.loss_sum += (loss + penalty) * Y.shape[0]

    def after_step(self) -> None:
        """Nothing: scikit-learn checks the parameters once, after fit."""

    def end_epoch(self, seconds: float) -> bool:
        """scikit-learn's end of an epoch: record loss_, loss_curve_ and the validation score, apply
        the tol rule, the schedule and the callbacks; returns whether training stops."""
        est, optimizer = self.estimator, self.optimizer
        loss, self.loss_sum = self.loss_sum / self.rows, 0.0
        est.n_iter_, est.loss_, est.t_ = est.n_iter_ + 1, loss, est.t_ + self.rows
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        score = None if self.validation is None else est._validation_score(*self.validation)
        est._update_no_improvement_count(score)
        self.schedule.after_epoch(optimizer, est.t_)
        record = {"epoch": est.n_iter_, "loss": loss, "validation_score": score,
                  "learning_rate": optimizer.eta, "seconds": seconds}  # one copy per callback
        asked_to_stop = any([callback(dict(record)) is True for callback in est.callbacks or ()])
        if est._no_improvement_count > est.n_iter_no_change:  # scikit-learn's trigger_stopping
            reason = self.schedule.stalled(optimizer)
            if est.verbose:
                what = "Validation score" if est.early_stopping else "Training loss"
                print(f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                      f"consecutive epochs. {reason or f'Setting learning rate to {optimizer.eta:f}'}")
            if reason is not None:
                return True
            est._no_improvement_count = 0
        if asked_to_stop or self.incremental:
            return True
        if est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                f"optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        return False
