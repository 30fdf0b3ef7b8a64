"""Regularization: the one definition of the penalty on the weights, its gradient, and its n.

The book's convention (Nielsen, ch. 3), n the number of training rows, biases not regularized:

    L2 (λ):   C = C_0 + (λ/2n) Σ w²     ->  ∇_w C += (λ/n) w
    L1 (λ₁):  C = C_0 + (λ₁/n) Σ |w|    ->  ∇_w C += (λ₁/n) sgn(w)

With ``scale="mini_batch"`` n is instead each mini-batch's total sample weight Σ s_x (its row count
without sample weights): scikit-learn's ``alpha``. The trainer (each step), the epoch records, the
command line's stability check and the estimators all take n from ``Regularization.n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray
SCALES = ("training_set", "mini_batch")


@dataclass(frozen=True)
class Regularization:
    """The L2 parameter λ >= 0, the L1 parameter λ₁ >= 0 and what n counts (``SCALES``); values are
    checked where they enter (``TrainingConfig``, ``Optimizer``)."""

    lmbda: float = 0.0
    l1: float = 0.0
    scale: str = "training_set"

    def __bool__(self) -> bool:
        return bool(self.lmbda or self.l1)

    def n(self, training_rows: float, batch_weight: float) -> float:
        """The n of λ/n: the training set's rows, or the mini-batch's total sample weight."""
        return training_rows if self.scale == "training_set" else batch_weight

    def penalty(self, weights: list[Array], n: float) -> float:
        """(λ/2n) Σ w² + (λ₁/n) Σ |w| of ``weights`` (the weight matrices)."""
        total = 0.0
        if self.lmbda:
            total += 0.5 * self.lmbda * sum(float(np.vdot(w, w)) for w in weights) / n
        if self.l1:
            total += self.l1 * sum(float(np.abs(w).sum()) for w in weights) / n
        return total

    def add_gradient(self, w: Array, grad: Array, n: float, scratch: Array) -> None:
        """∇_w C += (λ/n) w + (λ₁/n) sgn(w), in place (``scratch``: an array of w's shape).

        numpy's ufuncs, not a BLAS axpy: a second BLAS library's threads (scipy's) would compete
        with the products' for the cores, which measured 100x slower updates on 2 cores.
        """
        if self.lmbda:
            np.multiply(w, self.lmbda / n, out=scratch)
            grad += scratch
        if self.l1:
            np.sign(w, out=scratch)
            scratch *= self.l1 / n
            grad += scratch
