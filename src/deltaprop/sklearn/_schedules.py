"""scikit-learn's optimizers and learning-rate schedules, on deltaprop's optimizers.

scikit-learn's ``SGDOptimizer`` is deltaprop's ``SGD`` step for step (v → μ v − η ∇C, Nesterov's
w → w + μ v − η ∇C). Its ``AdamOptimizer`` places ε differently from torch's (and deltaprop's)
Adam, so ``ScikitAdam`` overrides the update:

    scikit-learn:  w → w − η_t m / (√v + ε),          η_t = η √(1 − β₂^t) / (1 − β₁^t)
    torch:         w → w − η m̂ / (√v̂ + ε),           m̂ = m / (1 − β₁^t), v̂ = v / (1 − β₂^t)

The schedules act between epochs on the optimizer's mutable ``eta``: 'constant' keeps it,
'invscaling' sets η = η₀ / (t + 1)^power_t (t: samples seen so far), 'adaptive' divides it by 5 each
time training stalls (stopping once it is at most 1e-6). With Adam there is no schedule: a stall stops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.optimizers import SGD, Adam, Optimizer

Array = np.ndarray
ADAPTIVE_DIVISOR = 5.0
ADAPTIVE_MIN_ETA = 1e-6


class ScikitAdam(Adam):
    """Adam with scikit-learn's placement of ε (see the module docstring); slots as ``Adam``'s."""

    def __init__(self, eta: float = 0.001, lmbda: float = 0.0, l1: float = 0.0, n: int = 1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        super().__init__(eta, lmbda, l1, n, beta_1, beta_2, epsilon)
        self.step_size = eta

    def _begin_step(self) -> None:
        super()._begin_step()
        # scikit-learn's expression, operation for operation
        self.step_size = self.eta * np.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)

    def _update(self, i: int, param: Array, grad: Array) -> None:
        m, v = self.arrays["exp_avg"][i], self.arrays["exp_avg_sq"][i]
        if len(self._denominators) <= i:
            self._denominators.append(np.empty_like(param))
        scratch = self._denominators[i]
        m *= self.beta_1
        np.multiply(grad, 1 - self.beta_1, out=scratch)
        m += scratch  # m → β₁ m + (1 − β₁) g
        v *= self.beta_2
        np.multiply(grad, grad, out=grad)
        grad *= 1 - self.beta_2
        v += grad  # v → β₂ v + (1 − β₂) g²
        np.sqrt(v, out=grad)
        grad += self.epsilon  # √v + ε
        np.multiply(m, -self.step_size, out=scratch)
        scratch /= grad
        param += scratch  # w → w − η_t m / (√v + ε)


def make_optimizer(solver: str, params: dict[str, Any]) -> Optimizer:
    """The optimizer of ``solver`` ("sgd" or "adam") with an estimator's parameters.

    ``n`` (the λ/n of the L2 term) is set per mini-batch by the trainer (scikit-learn's alpha).
    """
    eta, alpha, l1 = params["learning_rate_init"], params["alpha"], params["l1"]
    if solver == "adam":
        return ScikitAdam(eta, alpha, l1, 1, params["beta_1"], params["beta_2"], params["epsilon"])
    momentum = float(params["momentum"])
    return SGD(eta, alpha, l1, 1, momentum, bool(params["nesterovs_momentum"]) and momentum > 0)


def end_of_epoch(optimizer: Optimizer, schedule: str, eta0: float, power_t: float,
                 samples_seen: int) -> None:
    """scikit-learn's ``iteration_ends``: 'invscaling' sets η = η₀ / (t + 1)^power_t (SGD only)."""
    if isinstance(optimizer, SGD) and schedule == "invscaling":
        optimizer.eta = float(eta0) / (samples_seen + 1) ** power_t


def stall_stops(optimizer: Optimizer, schedule: str, message: str, verbose: bool) -> bool:
    """scikit-learn's ``trigger_stopping``: whether a stall ends training ('adaptive' SGD divides η
    by 5 instead, until η <= 1e-6)."""
    if not isinstance(optimizer, SGD) or schedule != "adaptive":
        if verbose:
            print(message + " Stopping.")
        return True
    if optimizer.eta <= ADAPTIVE_MIN_ETA:
        if verbose:
            print(message + " Learning rate too small. Stopping.")
        return True
    optimizer.eta /= ADAPTIVE_DIVISOR
    if verbose:
        print(message + f" Setting learning rate to {optimizer.eta:f}")
    return False

