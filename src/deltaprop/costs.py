"""Cost functions C_x: each owns its value and its output error δ^L (Nielsen's network2.py).

All arrays have one row per example: z, a and y have shape (m, n_out). ``value`` returns the cost of
each row, shape (m,); the network averages them. ``delta`` returns δ^L = ∂C_x/∂z^L, shape (m, n_out):

- in general BP1, δ^L = ∇_a C ⊙ σ'(z^L), or the Jacobian-vector product J_σ(z^L) ∇_a C when the
  output activation couples its units (softmax);
- cross-entropy with sigmoid outputs, and log-likelihood with softmax outputs, simplify to a − y:
  the σ'(z^L) factor that slows a saturated quadratic-cost neuron cancels (Nielsen, ch. 3).

Values are computed from z where a would lose precision (a = 1.0 exactly for z ≳ 37 in float64), so
they stay finite and warning-free for |z| up to 1e3.
"""

from __future__ import annotations

import numpy as np

from deltaprop.activations import Activation

Array = np.ndarray


def _softplus(z: Array) -> Array:
    """ln(1 + e^z), without overflow."""
    return np.logaddexp(0.0, z)


def _log_softmax(z: Array) -> Array:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _safe_log(p: Array) -> Array:
    """ln p with p clipped into [tiny, 1], so that a probability of exactly 0 gives a large finite cost."""
    return np.log(np.clip(p, np.finfo(p.dtype).tiny, 1.0))


class Cost:
    """A cost function. Subclasses give ``value`` and ``gradient``; ``delta`` applies BP1."""

    name: str = ""
    needs_probabilities: bool = False

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        """C_x for each row, shape (m,)."""
        raise NotImplementedError

    def gradient(self, a: Array, y: Array) -> Array:
        """∇_a C_x, shape (m, n_out)."""
        raise NotImplementedError

    def delta(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        """BP1: δ^L = ∇_a C ⊙ σ'(z^L) (or J_σ(z^L) ∇_a C for a coupled σ), shape (m, n_out)."""
        grad_a = self.gradient(a, y)
        if activation.elementwise:
            return grad_a * activation.derivative(z, a)
        return activation.jvp(a, grad_a)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class QuadraticCost(Cost):
    """C_x = ½‖y − a‖²."""

    name = "quadratic"

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        diff = a - y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    def gradient(self, a: Array, y: Array) -> Array:
        return a - y


class CrossEntropyCost(Cost):
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]; outputs must lie in (0, 1)."""

    name = "cross_entropy"
    needs_probabilities = True

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        if activation.name == "sigmoid":
            # −y ln σ(z) − (1 − y) ln(1 − σ(z)) = softplus(z) − y z, exact for any z.
            return np.sum(_softplus(z) - y * z, axis=1)
        terms = y * _safe_log(a) + (1.0 - y) * _safe_log(1.0 - a)
        return -np.sum(terms, axis=1)

    def gradient(self, a: Array, y: Array) -> Array:
        return (a - y) / (a * (1.0 - a))

    def delta(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        if activation.name == "sigmoid":
            return a - y  # BP1 with σ'(z) = a(1 − a) cancelled
        return super().delta(z, a, y, activation)


class LogLikelihoodCost(Cost):
    """C_x = −Σ_j y_j ln a_j (for one-hot y: −ln a_y); outputs must lie in (0, 1)."""

    name = "log_likelihood"
    needs_probabilities = True

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        log_a = _log_softmax(z) if activation.name == "softmax" else _safe_log(a)
        return -np.sum(y * log_a, axis=1)

    def gradient(self, a: Array, y: Array) -> Array:
        return -y / a

    def delta(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        if activation.name == "softmax":
            # BP1 with the softmax Jacobian applied to −y/a: a Σ_j y_j − y, which is a − y for one-hot y.
            return a * y.sum(axis=1, keepdims=True) - y
        return super().delta(z, a, y, activation)


COSTS: dict[str, Cost] = {}


def register_cost(cost: Cost) -> Cost:
    """Add a cost to the table so that networks can name it; returns it unchanged."""
    if not isinstance(cost, Cost):
        raise TypeError(f"cost must be a Cost, got {type(cost).__name__}")
    COSTS[cost.name] = cost
    return cost


def get_cost(spec: str | Cost) -> Cost:
    """The cost named ``spec`` ('cross-entropy' and 'cross_entropy' alike), or ``spec`` itself."""
    if isinstance(spec, Cost):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"cost must be a name or a Cost, got {type(spec).__name__}")
    try:
        return COSTS[spec.replace("-", "_")]
    except KeyError:
        raise ValueError(f"unknown cost {spec!r}; expected one of {sorted(COSTS)}") from None


for _cost in (QuadraticCost(), CrossEntropyCost(), LogLikelihoodCost()):
    register_cost(_cost)
