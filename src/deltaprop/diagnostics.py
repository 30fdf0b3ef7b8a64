"""Looking inside a network: gradient checking, learning speed and saturation.

``gradcheck`` measures the book's point (Nielsen, ch. 2, "In what sense is backpropagation a fast
algorithm?"): one forward and one backward pass give every partial derivative, where central finite
differences need two cost evaluations per parameter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop._validation import check_number, check_positive_int

if TYPE_CHECKING:
    from deltaprop.network import Network

Array = np.ndarray


@dataclass
class LayerCheck:
    """Gradient check of one layer: the relative error (see ``relative_error``) of its weights and of
    its biases."""

    layer: int  # 1-based, the book's l
    weight_error: float
    bias_error: float
    checked: int  # number of parameters of this layer compared


@dataclass
class GradcheckResult:
    """Backpropagation against central finite differences.

    Attributes:
        layers: one LayerCheck per layer.
        max_error: the largest relative error over all checked parameters.
        backprop_evaluations: cost evaluations backprop used (one forward pass, plus one backward).
        finite_difference_evaluations: cost evaluations of the finite differences (2 per parameter).
        backprop_seconds, finite_difference_seconds: wall time of each method.
    """

    layers: list[LayerCheck]
    max_error: float
    backprop_evaluations: int
    finite_difference_evaluations: int
    backprop_seconds: float
    finite_difference_seconds: float

    @property
    def speedup(self) -> float:
        return self.finite_difference_seconds / max(self.backprop_seconds, 1e-12)


def relative_error(a: Array, b: Array) -> float:
    """max_j |a_j − b_j| / max_j max(|a_j|, |b_j|): the largest discrepancy relative to the largest
    partial derivative of the same array (0.0 when both are all zero).

    The entrywise ratio |a_j − b_j| / |a_j| is meaningless for near-zero entries: there it measures the
    finite differences' round-off (about 1e-16 · C / ε ≈ 1e-10 in float64), not backprop.
    """
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return float(np.max(np.abs(a - b), initial=0.0)) / scale if scale > 0 else 0.0


def sample_entries(rng: np.random.Generator, sizes: list[int], max_params: int | None) -> list[Array]:
    """Flat indices to check in each parameter array: all, or a seeded sample of max_params."""
    if max_params is None or max_params >= sum(sizes):
        return [np.arange(size) for size in sizes]
    chosen = np.sort(rng.choice(sum(sizes), size=max_params, replace=False))
    offsets = np.cumsum([0, *sizes])
    bounds = zip(offsets[:-1], offsets[1:], strict=True)
    return [chosen[(chosen >= lo) & (chosen < hi)] - lo for lo, hi in bounds]


def finite_differences(net: Network, X: Array, Y: Array, param: Array, indices: Array, eps: float) -> Array:
    """(C(θ + ε) − C(θ − ε)) / 2ε for the chosen entries of ``param``, perturbed in place."""
    flat = param.reshape(-1)
    estimates = np.empty(indices.shape[0])
    for out, index in enumerate(indices):
        saved = flat[index]
        flat[index] = saved + eps
        cost_plus = net.cost_value(X, Y)
        flat[index] = saved - eps
        cost_minus = net.cost_value(X, Y)
        flat[index] = saved
        estimates[out] = (cost_plus - cost_minus) / (2 * eps)
    return estimates


def check_layers(net: Network, X: Array, Y: Array, nabla_w: list[Array], nabla_b: list[Array],
                 eps: float, max_params: int | None, seed: int) -> tuple[list[LayerCheck], float, float]:
    """Backprop's partials ``nabla_w``, ``nabla_b`` of each layer against central finite differences
    of ``net``'s cost on X, Y, for every parameter or a seeded sample of ``max_params``; returns one
    LayerCheck per layer, the largest relative error and the largest absolute difference."""
    params = [p for pair in zip(net.weights, net.biases, strict=True) for p in pair]
    grads = [g for pair in zip(nabla_w, nabla_b, strict=True) for g in pair]
    indices = sample_entries(np.random.default_rng(seed), [p.size for p in params], max_params)
    errors, absolute = [], 0.0
    for param, grad, chosen in zip(params, grads, indices, strict=True):
        estimate = finite_differences(net, X, Y, param, chosen, eps)
        exact = grad.reshape(-1)[chosen]
        errors.append(relative_error(exact, estimate))
        absolute = max(absolute, float(np.max(np.abs(exact - estimate), initial=0.0)))
    checked = [w.size + b.size for w, b in zip(indices[::2], indices[1::2], strict=True)]
    layers = [LayerCheck(i + 1, errors[2 * i], errors[2 * i + 1], checked[i]) for i in range(net.num_layers)]
    return layers, max(errors), absolute


def gradcheck(net: Network, X: Any, Y: Any, eps: float = 1e-6, max_params: int | None = None,
              seed: int = 0) -> GradcheckResult:
    """Compare backprop's gradient of the mean cost with central finite differences.

    Args:
        net: the network (use float64: float32 rounding swamps differences of size eps).
        X: inputs (m, sizes[0]); Y: targets (m, sizes[-1]) or class labels (m,).
        eps: the finite-difference step ε.
        max_params: check only a seeded random sample of this many parameters.
        seed: seed of that sample.

    Returns:
        A GradcheckResult with per-layer max relative errors, evaluation counts and timings.
    """
    X, Y = net.check_XY(X, Y)
    eps = check_number("eps", eps, positive=True)
    if max_params is not None:
        max_params = check_positive_int("max_params", max_params)
    check_gradcheck_work(net.sizes, X.shape[0], eps, max_params, option="")

    started = time.perf_counter()
    nabla_b, nabla_w = net.gradient(X, Y)
    backprop_seconds = time.perf_counter() - started

    started = time.perf_counter()
    layers, max_error, _ = check_layers(net, X, Y, nabla_w, nabla_b, eps, max_params, seed)
    fd_seconds = time.perf_counter() - started
    checked = sum(layer.checked for layer in layers)
    return GradcheckResult(layers, max_error, 1, 2 * checked, backprop_seconds, fd_seconds)


def check_gradcheck_work(sizes: Any, rows: int, eps: float, max_params: int | None = None,
                         option: str = "") -> None:
    """Refuse, before anything is made, a gradient check beyond the limits of ``deltaprop.limits``:
    an ``eps`` that is no finite number in (0, MAX_GRADCHECK_EPS], more than MAX_GRADCHECK_ROWS
    ``rows``, more than MAX_LAYERS layers, finite differences beyond MAX_GRADCHECK_WORK, or more
    memory than is available (the network, its gradient and copies, and the rows' passes).
    ``option`` prefixes the names in messages ("--" for the command line).

    Raises:
        ValueError: one line naming the option, the figure and the limit.
    """
    from deltaprop.limits import (
        MAX_GRADCHECK_EPS,
        MAX_GRADCHECK_ROWS,
        MAX_GRADCHECK_WORK,
        MAX_LAYERS,
        check_memory,
        shorten,
    )

    if not isinstance(eps, int | float) or not 0 < eps <= MAX_GRADCHECK_EPS:
        raise ValueError(f"{option}eps must be a finite-difference step in (0, {MAX_GRADCHECK_EPS:g}], "
                         f"got {eps!r}")
    if rows > MAX_GRADCHECK_ROWS:
        raise ValueError(f"{option}rows is {rows:,}, more than the limit of {MAX_GRADCHECK_ROWS:,} "
                         "(every finite difference is two passes over all of them)")
    sizes = [int(size) for size in sizes]
    if len(sizes) - 1 > MAX_LAYERS:
        raise ValueError(f"{option}sizes describe {len(sizes) - 1:,} layers, more than the limit of "
                         f"{MAX_LAYERS:,}")
    params = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False))
    # the network, its gradient, the weights' copies of a check, and per row the input and the
    # z, a and delta of every layer
    shown = shorten(",".join(map(str, sizes)), 40)
    check_memory(f"a gradient check of {option}sizes {shown} ({params:,} parameters) on {rows:,} rows",
                 8 * (4 * params + rows * (sizes[0] + 4 * sum(sizes))))
    checked = params if max_params is None else min(max_params, params)
    work = 2 * checked * rows * params
    if work > MAX_GRADCHECK_WORK:
        raise ValueError(f"finite differences of {checked:,} parameters on {rows:,} rows would take "
                         f"about {work:.2g} multiply-adds, more than the limit of {MAX_GRADCHECK_WORK:.0e}; "
                         f"check a sample ({option}max-params) or fewer {option}rows")


def learning_speed(nabla_b: list[Array]) -> list[float]:
    """‖∂C/∂b^l‖ for each layer: how fast its neurons learn (Nielsen, ch. 5)."""
    return [float(np.linalg.norm(nb)) for nb in nabla_b]
