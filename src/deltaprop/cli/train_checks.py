"""Checks of ``deltaprop train``'s options that need the data and the network: a regularization that
would overflow or make the weights grow at every step is refused before training, naming its option.

With n the n of λ/n (the training rows, or the smallest mini-batch under
``--regularization-scale mini_batch``), plain SGD multiplies the weights by 1 − ηλ/n at each step
on top of the cost's gradient: for ηλ/n ≥ 2 they grow without bound whatever the data. With
momentum μ the limit is 2(1 + μ), with Nesterov momentum 2(1 + μ)/(1 + 2μ) (the iteration of the
decay alone has an eigenvalue of modulus ≥ 1 beyond). Whatever the optimizer, a regularization
gradient (λ/n)|w| + λ₁/n beyond the square root of the dtype's largest number overflows (Adam squares
the gradient; the cost adds (λ/2n) Σ w²).
"""

from __future__ import annotations

import math

import numpy as np

from deltaprop.errors import TrainingDivergedError
from deltaprop.network import Network
from deltaprop.options import TrainingConfig


def regularization_n(config: TrainingConfig, rows: int) -> int:
    """The n of λ/n: the training rows, or the smallest mini-batch's rows."""
    if config.regularization_scale == "training_set":
        return rows
    k = min(config.batch_size, rows)
    return min(k, rows % k or k)


def decay_limit(config: TrainingConfig) -> float:
    """The largest stable ηλ/n of SGD's weight decay (plain, momentum, Nesterov)."""
    mu = config.momentum
    if not mu:
        return 2.0
    return 2 * (1 + mu) / (1 + 2 * mu) if config.nesterov else 2 * (1 + mu)


def _check_overflow(config: TrainingConfig, n: int, net: Network) -> None:
    limit = math.sqrt(float(np.finfo(net.dtype).max))
    largest = max(float(np.max(np.abs(w))) for w in net.weights)
    for flag, value, scale in (("--lmbda", config.lmbda, largest), ("--l1", config.l1, 1.0)):
        gradient = value / n * scale
        if value and not gradient < limit:
            raise ValueError(
                f"{flag} {value:g} is too large: the regularization overflows {net.dtype.name} "
                f"(its gradient reaches {gradient:.3g}, n = {n}); choose {flag} below "
                f"{limit * n / max(scale, 1e-300):.3g}"
            )


def check_regularization(config: TrainingConfig, rows: int, net: Network) -> None:
    """Refuse (ValueError naming --lmbda or --l1) a regularization that overflows, or an SGD weight
    decay so strong that the weights grow at every step."""
    if not (config.lmbda or config.l1) or rows < 1:
        return
    n = regularization_n(config, rows)
    _check_overflow(config, n, net)
    if config.optimizer != "sgd" or not config.lmbda:
        return
    assert config.eta is not None
    decay, limit = config.eta * config.lmbda / n, decay_limit(config)
    if decay >= limit:
        raise ValueError(
            f"--lmbda {config.lmbda:g} is too large for --eta {config.eta:g}: the weight decay "
            f"η·λ/n = {decay:.3g} per step (n = {n}) is past the stable limit {limit:.3g}, so the "
            f"weights grow at every step and training diverges; choose --lmbda below "
            f"{limit * n / config.eta:.3g} or a smaller --eta"
        )


def diverged_hint(error: TrainingDivergedError, config: TrainingConfig) -> TrainingDivergedError:
    """The library's divergence message in the command line's terms: the flags, and the
    regularization among the suspects when there is one."""
    message = str(error).replace("a smaller eta", "a smaller --eta")
    for flag, value in (("--lmbda", config.lmbda), ("--l1", config.l1)):
        if value:
            message += f", or a smaller {flag} (now {value:g})"
    return TrainingDivergedError(message)
