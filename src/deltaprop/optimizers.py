"""Optimizers: how one step moves the parameters, given their gradient. Apart from the model.

An optimizer updates ``weights`` and ``biases`` (lists of arrays, changed in place) from the gradient
∇C of the mean cost of a mini-batch (``grad_w``, ``grad_b``, which it may overwrite). Regularization
is part of the cost, so it enters through the gradient of the weights only (the book's convention,
n the number of training rows):

    L2 (λ):   C = C_0 + (λ/2n) Σ w²     ->  ∇_w C += (λ/n) w
    L1 (λ₁):  C = C_0 + (λ₁/n) Σ |w|    ->  ∇_w C += (λ₁/n) sgn(w)

``SGD`` (with momentum and Nesterov momentum) and ``Adam`` are those of ``torch.optim`` (the tests
hold each equal to it to 1e-12 over 20 steps in float64), with L2 as torch's ``weight_decay`` = λ/n on
the weights.

State: each optimizer keeps per-parameter arrays in named slots (``slots``), ordered as
``weights + biases``, and a few numbers; ``state()`` and ``load_state()`` carry both into and out of
checkpoints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop._validation import check_number

Array = np.ndarray


def _add_scaled(alpha: float, x: Array, y: Array, scratch: Array) -> None:
    """y ← y + alpha x, in place (scratch: an array of x's shape the update may overwrite).

    numpy's ufuncs, not a BLAS axpy: a second BLAS library's threads (scipy's) would compete with
    the GEMMs' for the cores, which measured 100x slower updates on 2 cores.
    """
    np.multiply(x, alpha, out=scratch)
    np.add(y, scratch, out=y)


class Optimizer:
    """Base class: η, the regularization, the slots of per-parameter state.

    Args:
        eta: learning rate η > 0.
        lmbda: L2 parameter λ >= 0.
        l1: L1 parameter λ₁ >= 0.
        n: number of training rows, the n of λ/n and λ₁/n.
    """

    name = ""
    slots: tuple[str, ...] = ()

    def __init__(self, eta: float, lmbda: float = 0.0, l1: float = 0.0, n: int = 1) -> None:
        self.eta = check_number("eta", eta, positive=True)
        self.lmbda = check_number("lmbda", lmbda, nonnegative=True)
        self.l1 = check_number("l1", l1, nonnegative=True)
        self.n = n
        self.arrays: dict[str, list[Array]] = {}  # slot -> one array per parameter, made on first step
        self._scratch: list[Array] = []  # one per weight array, for the regularization terms

    def step(self, weights: list[Array], biases: list[Array], grad_w: list[Array],
             grad_b: list[Array]) -> None:
        """Update every parameter in place from ∇C (grad_w, grad_b: overwritten)."""
        params, grads = weights + biases, grad_w + grad_b
        if not self.arrays and self.slots:
            self.arrays = {slot: [np.zeros_like(p) for p in params] for slot in self.slots}
        for i, w in enumerate(weights):
            self._regularize(i, w, grad_w[i])
        self._begin_step()
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            self._update(i, param, grad)

    def _regularize(self, i: int, w: Array, grad: Array) -> None:
        """∇_w C += (λ/n) w + (λ₁/n) sgn(w), in place."""
        if not (self.lmbda or self.l1):
            return
        if len(self._scratch) <= i:
            self._scratch.append(np.empty_like(w))
        if self.lmbda:
            _add_scaled(self.lmbda / self.n, w, grad, self._scratch[i])
        if self.l1:
            _add_scaled(self.l1 / self.n, np.sign(w, out=self._scratch[i]), grad, self._scratch[i])

    def _begin_step(self) -> None:
        """Advance per-step counters (Adam's t)."""

    def _update(self, i: int, param: Array, grad: Array) -> None:
        raise NotImplementedError

    def state(self) -> tuple[dict[str, Any], dict[str, list[Array]]]:
        """(numbers, slot arrays): what a checkpoint stores to continue exactly."""
        return {"name": self.name, "eta": self.eta}, self.arrays

    def load_state(self, numbers: dict[str, Any], arrays: dict[str, list[Array]]) -> None:
        """Continue from ``state()``'s output (arrays are copied in)."""
        if numbers.get("name") != self.name:
            raise ValueError(f"optimizer state of {numbers.get('name')!r} given to {self.name!r}")
        if set(arrays) not in (set(), set(self.slots)):
            raise ValueError(f"optimizer {self.name!r} keeps slots {list(self.slots)}, got {list(arrays)}")
        self.eta = float(numbers["eta"])
        self.arrays = {slot: [np.array(a, copy=True) for a in values] for slot, values in arrays.items()}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum μ and Nesterov momentum.

    Plain:     w → w − η ∇C
    Momentum:  v → μ v − η ∇C,  w → w + v                (velocity v, slot "velocity")
    Nesterov:  v → μ v − η ∇C,  w → w + μ v − η ∇C

    These are torch.optim.SGD's updates (its buffer is −v/η) for a constant η.
    """

    name = "sgd"

    def __init__(self, eta: float, lmbda: float = 0.0, l1: float = 0.0, n: int = 1,
                 momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(eta, lmbda, l1, n)
        self.momentum = check_number("momentum", momentum, nonnegative=True, below_one=True)
        if nesterov and not self.momentum:
            raise ValueError("nesterov needs a momentum > 0, got momentum=0")
        self.nesterov = bool(nesterov)
        self.slots = ("velocity",) if self.momentum else ()
        self._nesterov_scratch: list[Array] = []  # μ v of each parameter, allocated once

    def _update(self, i: int, param: Array, grad: Array) -> None:
        grad *= -self.eta  # −η ∇C (the gradient array is the optimizer's to overwrite)
        if not self.momentum:
            param += grad  # w → w − η ∇C
            return
        velocity = self.arrays["velocity"][i]
        velocity *= self.momentum
        velocity += grad  # v → μ v − η ∇C
        if self.nesterov:
            if len(self._nesterov_scratch) <= i:
                self._nesterov_scratch.append(np.empty_like(param))
            _add_scaled(self.momentum, velocity, grad, self._nesterov_scratch[i])
            param += grad  # w → w + μ v − η ∇C
        else:
            param += velocity  # w → w + v


class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam defines it, L2 through the gradient.

    m → β₁ m + (1 − β₁) ∇C,  v → β₂ v + (1 − β₂) ∇C²,  w → w − η m̂ / (√v̂ + ε)
    with m̂ = m / (1 − β₁^t) and v̂ = v / (1 − β₂^t) at step t (slots "exp_avg", "exp_avg_sq").
    """

    name = "adam"
    slots = ("exp_avg", "exp_avg_sq")

    def __init__(self, eta: float = 0.001, lmbda: float = 0.0, l1: float = 0.0, n: int = 1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        super().__init__(eta, lmbda, l1, n)
        self.beta_1 = check_number("beta_1", beta_1, nonnegative=True, below_one=True)
        self.beta_2 = check_number("beta_2", beta_2, nonnegative=True, below_one=True)
        self.epsilon = check_number("epsilon", epsilon, positive=True)
        self.t = 0
        self._denominators: list[Array] = []

    def _begin_step(self) -> None:
        self.t += 1

    def _update(self, i: int, param: Array, grad: Array) -> None:
        m, v = self.arrays["exp_avg"][i], self.arrays["exp_avg_sq"][i]
        if len(self._denominators) <= i:
            self._denominators.append(np.empty_like(param))
        denominator = self._denominators[i]
        m *= self.beta_1
        _add_scaled(1.0 - self.beta_1, grad, m, denominator)  # m → β₁ m + (1 − β₁) g
        v *= self.beta_2
        np.multiply(grad, grad, out=grad)
        _add_scaled(1.0 - self.beta_2, grad, v, denominator)  # v → β₂ v + (1 − β₂) g²
        np.sqrt(v, out=denominator)
        denominator /= np.sqrt(1.0 - self.beta_2 ** self.t)
        denominator += self.epsilon  # √v̂ + ε
        np.divide(m, denominator, out=denominator)
        step = -self.eta / (1.0 - self.beta_1 ** self.t)
        _add_scaled(step, denominator, param, grad)  # w → w − η m̂/(√v̂ + ε)

    def state(self) -> tuple[dict[str, Any], dict[str, list[Array]]]:
        numbers, arrays = super().state()
        return {**numbers, "t": self.t}, arrays

    def load_state(self, numbers: dict[str, Any], arrays: dict[str, list[Array]]) -> None:
        super().load_state(numbers, arrays)
        self.t = int(numbers["t"])


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}
