"""Cost functions C_x: each owns its value and its output error δ^L (Nielsen's network2.py).

All arrays have one row per example: z, a and y have shape (m, n_out). ``value`` returns the cost of
each row, shape (m,); the network averages them. ``delta`` returns δ^L = ∂C_x/∂z^L, shape (m, n_out):

- in general BP1, δ^L = ∇_a C ⊙ σ'(z^L), or the Jacobian-vector product J_σ(z^L) ∇_a C when the
  output activation couples its units (softmax);
- cross-entropy with sigmoid outputs, and log-likelihood with softmax outputs, simplify to a − y:
  the σ'(z^L) factor that slows a saturated quadratic-cost neuron cancels (Nielsen, ch. 3).

``delta_into`` is the same δ^L written into a given array: the training step's in-place kernel, held
equal to ``delta`` by the tests. Logarithms come from the activation's ``log_outputs(z, a)``, computed
from z where a would lose precision (a = 1.0 exactly for z ≳ 37 in float64), so values stay finite
and warning-free for |z| up to 1e3.
"""

from __future__ import annotations

import numpy as np

from deltaprop.activations import Activation, Sigmoid, Softmax, log_one_minus_softmax, log_softmax
from deltaprop.registry import Registry

Array = np.ndarray


def _softmax_cross_entropy_delta(z: Array, y: Array) -> Array:
    """J_softmax ∇_a C for the cross-entropy cost, without forming 1/a or 1/(1 − a).

    With odds r_k = a_k / (1 − a_k), the Jacobian-vector product a ⊙ (v − ⟨a, v⟩) of
    v = −y/a + (1 − y)/(1 − a) is δ_j = −y_j + a_j Σ_k y_k + (1 − y_j) a_j − Σ_(k≠j) (1 − y_k) a_j r_k,
    and each a_j r_k (k ≠ j) is at most 1, since 1 − a_k >= a_j. Computed in log space.
    """
    log_a = log_softmax(z)
    log_odds = log_a - log_one_minus_softmax(z)
    log_products = log_a[:, :, None] + log_odds[:, None, :]  # (m, j, k): ln(a_j r_k)
    diagonal = np.arange(z.shape[1])
    log_products[:, diagonal, diagonal] = -np.inf  # the sum leaves k = j out
    a_times_odds = np.exp(log_products)
    a = np.exp(log_a)
    return (-y + a * y.sum(axis=1, keepdims=True) + (1.0 - y) * a
            - np.einsum("mjk,mk->mj", a_times_odds, 1.0 - y))


class Cost:
    """A cost function. Subclasses give ``value`` and ``gradient``; ``delta`` applies BP1.

    Attributes:
        name: the name a network uses to ask for it.
        needs_probabilities: True when the outputs must lie in (0, 1).
        output_activation: the output layer's activation when a network names none: ``"sigmoid"``
            (the book's pairing for the quadratic and cross-entropy costs), ``"softmax"`` for the
            log-likelihood.
        default_eta: the plain SGD learning rate ``fit`` uses when given none: the book's, 3.0 for
            the quadratic cost (chapter 1, whose σ'(z) factor slows learning) and 0.5 for the
            cross-entropy and log-likelihood costs (chapter 3).
    """

    name: str = ""
    needs_probabilities: bool = False
    output_activation: str = "sigmoid"
    default_eta: float = 0.5

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

    def delta_into(
        self, z: Array, a: Array, y: Array, activation: Activation, out: Array, scratch: Array
    ) -> Array:
        """``delta`` written into ``out`` (shape of z); ``scratch`` may be overwritten. Returns out."""
        np.copyto(out, self.delta(z, a, y, activation))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class QuadraticCost(Cost):
    """C_x = ½‖y − a‖²."""

    name = "quadratic"
    default_eta = 3.0

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        diff = a - y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    def gradient(self, a: Array, y: Array) -> Array:
        return a - y

    def delta_into(
        self, z: Array, a: Array, y: Array, activation: Activation, out: Array, scratch: Array
    ) -> Array:
        if not activation.elementwise:
            return super().delta_into(z, a, y, activation, out, scratch)
        np.subtract(a, y, out=out)  # ∇_a C = a − y
        activation.multiply_derivative(z, a, out, scratch)  # ⊙ σ'(z^L)
        return out


class CrossEntropyCost(Cost):
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]; outputs must lie in (0, 1)."""

    name = "cross_entropy"
    needs_probabilities = True

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        log_a, log_one_minus_a = activation.log_outputs(z, a)
        return -np.sum(y * log_a + (1.0 - y) * log_one_minus_a, axis=1)

    def gradient(self, a: Array, y: Array) -> Array:
        return (a - y) / (a * (1.0 - a))

    def delta(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        if isinstance(activation, Sigmoid):
            return a - y  # BP1 with σ'(z) = a(1 − a) cancelled
        if isinstance(activation, Softmax):
            return _softmax_cross_entropy_delta(z, y)
        return super().delta(z, a, y, activation)

    def delta_into(
        self, z: Array, a: Array, y: Array, activation: Activation, out: Array, scratch: Array
    ) -> Array:
        if isinstance(activation, Sigmoid):
            return np.subtract(a, y, out=out)
        return super().delta_into(z, a, y, activation, out, scratch)


class LogLikelihoodCost(Cost):
    """C_x = −Σ_j y_j ln a_j (for one-hot y: −ln a_y); outputs must lie in (0, 1)."""

    name = "log_likelihood"
    needs_probabilities = True
    output_activation = "softmax"

    def value(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        return -np.sum(y * activation.log_output(z, a), axis=1)

    def gradient(self, a: Array, y: Array) -> Array:
        return -y / a

    def delta(self, z: Array, a: Array, y: Array, activation: Activation) -> Array:
        if isinstance(activation, Softmax):
            # BP1 with the softmax Jacobian applied to −y/a: a Σ_j y_j − y, which is a − y for one-hot y.
            return a * y.sum(axis=1, keepdims=True) - y
        if isinstance(activation, Sigmoid):
            return -y * activation(-z)  # BP1: (−y/a) ⊙ a(1 − a) = −y (1 − a), and 1 − σ(z) = σ(−z)
        return super().delta(z, a, y, activation)

    def delta_into(
        self, z: Array, a: Array, y: Array, activation: Activation, out: Array, scratch: Array
    ) -> Array:
        if isinstance(activation, Softmax):
            row_sums = np.einsum("ij->i", y, out=scratch[:, 0])  # Σ_j y_j (einsum: a third faster)
            np.multiply(a, row_sums[:, None], out=out)
            return np.subtract(out, y, out=out)
        return super().delta_into(z, a, y, activation, out, scratch)


def check_pairing(cost: Cost, output: Activation, n_out: int) -> None:
    """Refuse an output layer that ``cost`` cannot be computed on (ValueError naming both)."""
    if not output.elementwise and n_out < 2:
        raise ValueError(
            f"output activation {output.name!r} needs at least 2 output units (with one its output "
            f"is always 1), got sizes[-1] = {n_out}"
        )
    if cost.needs_probabilities and not output.outputs_probabilities:
        raise ValueError(
            f"cost {cost.name!r} needs outputs in (0, 1), from a 'sigmoid' or 'softmax' output "
            f"layer, got output activation {output.name!r}; choose one of those or "
            f"cost='quadratic'"
        )


COSTS: Registry[Cost] = Registry("cost")
"""Costs by name: the one table networks, the command line and the model schema read."""


def register_cost(cost: Cost) -> Cost:
    """Add a cost to the table so that networks can name it; returns it unchanged."""
    if not isinstance(cost, Cost):
        raise TypeError(f"cost must be a Cost, got {type(cost).__name__}")
    return COSTS.register(cost.name, cost)


def get_cost(spec: str | Cost) -> Cost:
    """The cost named ``spec`` ('cross-entropy' and 'cross_entropy' alike), or ``spec`` itself."""
    if isinstance(spec, Cost):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"cost must be a name or a Cost, got {type(spec).__name__}")
    return COSTS.get_entry(spec)


for _cost in (QuadraticCost(), CrossEntropyCost(), LogLikelihoodCost()):
    register_cost(_cost)
