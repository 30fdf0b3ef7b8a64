"""One epoch as scikit-learn's ``_fit_stochastic`` runs it, on deltaprop's Trainer.

``BatchTrainer`` is deltaprop's ``Trainer`` (its preallocated mini-batch buffers, gather by index,
workspace, dropout masks and backpropagation) driven the way scikit-learn's loop is: the estimator
hands it each epoch's row order (drawn from scikit-learn's RandomState), and each mini-batch is one
``Network.gradient`` and one optimizer step with the L2 term α/Σs of that mini-batch. Besides the
step it computes the loss scikit-learn reports (``deltaprop.sklearn._losses``), from the forward pass
the step has just done, and leaves out the engine's per-epoch monitoring (running sums, saturation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from deltaprop.monitoring import Monitor
from deltaprop.network import Network
from deltaprop.optimizers import Optimizer
from deltaprop.options import TrainingConfig
from deltaprop.sklearn._losses import batch_loss, loss_kind
from deltaprop.trainer import Trainer, blas_threads_for
from deltaprop.training_data import TrainingData

Array = np.ndarray


class BatchTrainer(Trainer):
    """A Trainer whose epochs follow a given order of rows and return scikit-learn's loss.

    Args:
        net: the network, trained in place.
        X: inputs (n, n_in) of the network's dtype; Y: targets (n, n_out).
        sample_weight: weights (n,) or None.
        config: batch_size, dropout, seed and optimizer name (for the memory check) are used.
        optimizer: the optimizer that steps (kept by the estimator across partial_fit calls).
    """

    def __init__(self, net: Network, X: Array, Y: Array, sample_weight: Array | None,
                 config: TrainingConfig, optimizer: Optimizer) -> None:
        super().__init__(net, TrainingData(net, X, Y, sample_weight, "training"), config,
                         Monitor(net, {}), optimizer)
        self.loss_kind = loss_kind(net.cost_function, net.activations[-1])

    def train_epoch(self, order: Array | None) -> float:
        """One pass over the rows, in ``order`` (indices (n,)) or in row order (None).

        Returns:
            scikit-learn's ``loss_``: the mini-batches' losses weighted by their row counts.
        """
        self.order = order
        n, k = self.data.rows, self.config.batch_size
        total = 0.0
        for start in range(0, n, k):
            total += self.train_batch(start) * min(k, n - start)
        return total / n

    def train_batch(self, start: int) -> float:
        """One step on the mini-batch from ``start``; returns its loss (before the step).

        A mini-batch whose sample weights are all 0 carries no information and is skipped (loss 0;
        scikit-learn divides by their sum of 0 and its parameters become NaN).
        """
        X, Y, weights, _ = self.mini_batch(start)
        m = X.shape[0]
        weight_sum = float(m if weights is None else weights.sum())
        if weight_sum == 0:
            return 0.0
        regularization = self.optimizer.regularization  # alpha and l1, over Σ s of the mini-batch
        penalty = regularization.penalty(self.net.weights, weight_sum)
        self.optimizer.n = weight_sum
        row_weights = None if weights is None else weights / self.net.dtype.type(weight_sum)
        nabla_b, nabla_w = self.net.gradient(X, Y, row_weights, self.dropout_masks(m),
                                             self.workspace)
        space = self.workspace.rows(m)
        loss = batch_loss(self.loss_kind, self.net.cost_function, self.net.activations[-1],
                          space.zs[-1], space.activations[-1], Y, weights)
        self.optimizer.step(self.net.weights, self.net.biases, nabla_w, nabla_b)
        return loss + penalty

    @contextlib.contextmanager
    def threads(self) -> Iterator[None]:
        """The engine's BLAS thread choice for this network and mini-batch size, with overflow in
        a diverging run left to the finite check at the end of fit."""
        with blas_threads_for(self), np.errstate(over="ignore", invalid="ignore"):
            yield
