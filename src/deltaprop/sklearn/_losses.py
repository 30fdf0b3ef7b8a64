"""The losses scikit-learn reports, and the Poisson pieces deltaprop's tables lack.

scikit-learn's ``loss_`` is, per mini-batch, a weighted mean over rows of

    squared_error     ½ Σ_j (y_j − a_j)² / n_outputs     (the gradient is that of ½‖y − a‖²)
    log_loss          −Σ_j y_j ln a_j                   (softmax outputs, a clipped to [ε, 1 − ε])
    binary_log_loss   −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]   (sigmoid outputs, clipped)
    poisson           Σ_j [y_j ln(y_j / a_j) − y_j + a_j]          (exp outputs: ``PoissonCost``)

plus the L2 term ½ α ‖W‖² / Σ s of the weights before the step; ``batch_loss`` computes them
exactly so, and the stopping rule (tol, n_iter_no_change) sees the same numbers as scikit-learn's.
Other costs (deltaprop's ``cost=`` parameter), and ``PoissonCost``, report the cost's own weighted mean.

``Exp`` (a = e^z) and ``PoissonCost`` give MLPRegressor(loss="poisson"): with exp outputs the output
error is δ^L = a − y, as for the other canonical pairs. They are module-level classes, so networks
that use them pickle; they are not registered in deltaprop's tables.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from deltaprop.activations import Activation
from deltaprop.costs import Cost

Array = np.ndarray


class Exp(Activation):
    """a = e^z; σ'(z) = a (scikit-learn's output activation for the Poisson loss)."""

    def __init__(self) -> None:
        super().__init__("exp")

    def forward(self, z: Array, out: Array) -> Array:
        return np.exp(z, out=out)

    def derivative(self, z: Array, a: Array) -> Array:
        return a.copy()

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        np.multiply(delta, a, out=delta)


class PoissonCost(Cost):
    """Half the Poisson deviance, C_x = Σ_j [y_j ln(y_j / a_j) − y_j + a_j]; outputs must be > 0."""

    name = "poisson"

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        return np.sum(xlogy(y, y / a) - y + a, axis=1)

    def gradient(self, a: Array, y: Array) -> Array:
        return 1.0 - y / a

    def delta(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        if isinstance(activation, Exp):
            return a - y  # BP1 with σ'(z) = a: (1 − y/a) a
        return super().delta(z, a, y, activation)

    def delta_into(self, z: Array, a: Array, y: Array, activation: Activation, out: Array,
                   scratch: Array) -> Array:
        if isinstance(activation, Exp):
            return np.subtract(a, y, out=out)
        return super().delta_into(z, a, y, activation, out, scratch)


def _clipped(a: Array) -> Array:
    """a clipped into [ε, 1 − ε], as scikit-learn clips probabilities (np.clip's ufuncs, without
    its Python layers: a tenth of a small step)."""
    eps = np.finfo(a.dtype).eps
    return np.minimum(np.maximum(a, eps), 1 - eps)


def batch_loss(kind: str | None, cost: Cost, out_activation: Activation, z: Array, a: Array,
               y: Array, weights: Array | None, labels: Array | None = None) -> float:
    """The data term of one mini-batch's loss, as scikit-learn computes it for ``kind``.

    Args:
        kind: "squared_error", "log_loss", "binary_log_loss", or None for the weighted mean of
            ``cost``'s own value (the Poisson loss: ``PoissonCost``'s).
        cost, out_activation: the network's cost and output activation.
        z, a, y: output pre-activations, activations and targets, each (m, n_out).
        weights: sample weights (m,) or None.
        labels: the unit of each row's 1 when the rows of y are one-hot (m,), or None.
    """
    if kind == "squared_error":
        diff = y - a
        rows = np.einsum("ij,ij->i", diff, diff) * (0.5 / a.shape[1])
    elif kind == "log_loss" and labels is not None:  # one-hot rows: Σ_j y_j ln p_j = ln p_label
        rows = -np.log(_clipped(a[np.arange(a.shape[0]), labels]))
    elif kind == "log_loss":  # p is clipped away from 0, so xlogy(y, p) = y ln p
        p = _clipped(a)
        rows = -np.einsum("ij,ij->i", y, np.log(p))
        if p.shape[1] == 1:  # the two columns scikit-learn appends
            rows -= ((1 - y) * np.log(1 - p))[:, 0]
    elif kind == "binary_log_loss":
        p = _clipped(a)
        rows = -np.einsum("ij,ij->i", y, np.log(p)) - np.einsum("ij,ij->i", 1 - y, np.log(1 - p))
    else:
        rows = cost.value(z, a, y, out_activation)
    if weights is None:
        return float(rows.sum()) / rows.shape[0]  # np.mean's sum and division
    return float(np.dot(weights, rows) / weights.sum())


def loss_kind(cost: Cost, out_activation: Activation) -> str | None:
    """Which of scikit-learn's losses a network's (cost, output activation) pair is, if any."""
    pairs = {("quadratic", None): "squared_error", ("log_likelihood", "softmax"): "log_loss",
             ("cross_entropy", "sigmoid"): "binary_log_loss"}
    return pairs.get((cost.name, None)) or pairs.get((cost.name, out_activation.name))
