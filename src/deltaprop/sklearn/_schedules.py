"""scikit-learn's optimizers and learning-rate schedules, on deltaprop's optimizers.

scikit-learn's ``SGDOptimizer`` is deltaprop's ``SGD`` step for step (v → μ v − η ∇C, Nesterov's
w → w + μ v − η ∇C). Its ``AdamOptimizer`` places ε differently from torch's: deltaprop's ``Adam``
with ``sklearn_step=True`` (w → w − η_t m / (√v + ε), η_t = η √(1 − β₂^t) / (1 − β₁^t)).

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


def solver_optimizer(solver: str, params: dict[str, Any]) -> Optimizer:
    """deltaprop's optimizer for scikit-learn's ``solver`` ("sgd" or "adam") and an estimator's
    parameters: Adam with scikit-learn's step-size rule, SGD as it is.

    ``n`` (the λ/n of the L2 term) is set per mini-batch by the trainer (scikit-learn's alpha).
    """
    eta, alpha, l1 = params["learning_rate_init"], params["alpha"], params["l1"]
    if solver == "adam":
        return Adam(eta, alpha, l1, sklearn_step=True, beta_1=params["beta_1"],
                    beta_2=params["beta_2"], epsilon=params["epsilon"])
    momentum = float(params["momentum"])
    return SGD(eta, alpha, l1, momentum=momentum,
               nesterov=bool(params["nesterovs_momentum"]) and momentum > 0)


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

