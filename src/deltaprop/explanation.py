"""One example traced through BP1-BP4 with every number (Nielsen, chapter 2).

``explain(net, x, y)`` runs the engine (``Network.forward`` and ``Network.gradient``, the one
backpropagation of deltaprop) on a single example and returns an :class:`Explanation`: for each layer
l = 1..L, z^l, a^l, σ'(z^l), δ^l, ∂C/∂b^l and ∂C/∂w^l, with the parameters w^l (n_l, n_{l-1}) and b^l
(n_l,) in the column-vector convention z^l = w^l a^{l-1} + b^l. The cost is that of the one example,
C_x, not a mean. BP1's factors come from the cost and activation objects (∇_a C from
``cost.gradient``, σ'(z^L) from ``activation.derivative``; softmax, which couples its units, gives its
Jacobian instead), and the trace records how far a hand computation of BP1-BP4 with them lies from
the engine's numbers (``engine_agreement``, 0 up to rounding).

Every partial derivative is checked against a central finite difference (C_x(θ + ε) − C_x(θ − ε)) / 2ε
of the one example; networks with more than ``max_checks`` parameters are checked on a seeded random
sample of that many, or fewer where that would take more than ``limits.MAX_EXPLAIN_WORK``
(``finite_difference["sampled"]`` says so). The trace also holds the plain SGD
step the example would cause, Δθ = −η ∂C_x/∂θ, with C_x after it; the book's "big picture" for one
weight w^l_jk, ∂C/∂w^l_jk as a sum over every path from that weight to the cost of the product of the
rates along it, enumerated when there are at most ``max_paths`` paths; and callouts in plain words
where the chapter's insights apply. The trace is computed in float64 whatever the network's dtype.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deltaprop._validation import check_allocation, check_number, check_positive_int
from deltaprop.activations import SATURATION_FRACTION
from deltaprop.diagnostics import check_layers
from deltaprop.limits import EXPLAIN_LAYER_WORK, MAX_EXPLAIN_WORK
from deltaprop.network import Network
from deltaprop.workspace import Workspace

Array = np.ndarray
EPS = 1e-6
MAX_CHECKS = 5000
MAX_PATHS = 100_000
NEAR = 0.05  # an output within this of 0 or 1 is "near 0 or 1"
LOW_ACTIVATION = 0.01  # |a_k| below this makes the weights out of neuron k learn slowly
SATURATION_PEAK = {"sigmoid": 0.25, "tanh": 1.0}  # max σ'; saturated below SATURATION_FRACTION of it
LISTED = 5  # unit indices named in one callout


@dataclass
class LayerTrace:
    """Layer l of one example: arrays of shape (n_l,), except ``weights`` and ``nabla_w``
    (n_l, n_{l-1}); ``sigma_prime`` is None for softmax (see ``jacobian``, (n_l, n_l))."""

    z: Array
    a: Array
    sigma_prime: Array | None
    delta: Array
    nabla_b: Array
    nabla_w: Array
    weights: Array
    biases: Array
    jacobian: Array | None = None
    weight_error: float = 0.0  # finite-difference relative error of nabla_w (checked entries)
    bias_error: float = 0.0
    checked: int = 0


@dataclass
class PathSum:
    """The big picture for weight w^l_jk: ∂C/∂w^l_jk = Σ over paths of products of rates.

    ``paths`` is the number of paths from neuron j of layer l to the cost; ``value`` their sum
    (None when there were more than the limit, not enumerated); ``largest`` the few paths of largest
    |product|, each {"neurons": [j, p, ..., m] (one per layer l..L), "product"}."""

    layer: int
    j: int
    k: int
    paths: int
    value: float | None
    bp4: float
    largest: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


@dataclass(repr=False)
class Explanation:
    """The trace of one example (see the module docstring); ``to_dict()`` is its JSON."""

    sizes: list[int]
    activations: list[str]
    cost: str
    x: Array
    y: Array
    cost_value: float
    grad_a: Array  # ∇_a C of BP1, (n_L,)
    layers: list[LayerTrace]
    finite_difference: dict[str, Any]
    engine_agreement: float
    eta: float
    cost_after_update: float
    path_sum: PathSum | None
    callouts: list[str]

    @property
    def finite_difference_max_error(self) -> float:
        """The largest relative error of any layer's checked partials against finite differences."""
        return float(self.finite_difference["max_error"])

    def __repr__(self) -> str:
        """One line: the network, the example's cost and the finite-difference check."""
        return (f"Explanation of one example through BP1-BP4: network {self.sizes}, {self.cost} cost "
                f"C_x = {self.cost_value:.4g}, partials checked against finite differences to "
                f"{self.finite_difference_max_error:.3g}")

    def to_dict(self) -> dict[str, Any]:
        """The trace as plain JSON values: the issue's keys first, exact floats in lists.

        {"sizes", "activations", "cost", "x", "y", "cost_value", "finite_difference_max_error",
        "layers": [{"z", "a", "sigma_prime", "delta", "nabla_b", "nabla_w", "weights", "biases",
        "jacobian", "update_w", "update_b", "finite_difference"}], "grad_a", "finite_difference",
        "engine_agreement", "sgd_update": {"eta", "cost_before", "cost_after"}, "path_sum",
        "callouts"}. Non-finite numbers (∇_a C of a saturated cross-entropy output) become None.
        """
        arrays = ("z", "a", "sigma_prime", "delta", "nabla_b", "nabla_w", "weights", "biases", "jacobian")
        layers = [{**{name: _list(getattr(t, name)) for name in arrays},
                   "update_w": _list(-self.eta * t.nabla_w), "update_b": _list(-self.eta * t.nabla_b),
                   "finite_difference": {"weight_error": t.weight_error, "bias_error": t.bias_error,
                                         "checked": t.checked}} for t in self.layers]
        return {
            "sizes": list(self.sizes), "activations": list(self.activations), "cost": self.cost,
            "x": _list(self.x), "y": _list(self.y), "cost_value": self.cost_value,
            "finite_difference_max_error": self.finite_difference_max_error, "layers": layers,
            "grad_a": _list(self.grad_a), "finite_difference": dict(self.finite_difference),
            "engine_agreement": self.engine_agreement,
            "sgd_update": {"eta": self.eta, "cost_before": self.cost_value,
                           "cost_after": self.cost_after_update},
            "path_sum": None if self.path_sum is None else vars(self.path_sum).copy(),
            "callouts": list(self.callouts),
        }


def _list(array: Array | None) -> Any:
    """Exact floats as nested lists; NaN and ±inf as None."""
    if array is None:
        return None
    values = np.asarray(array, dtype=np.float64)
    if np.all(np.isfinite(values)):
        return values.tolist()
    return np.where(np.isfinite(values), values.astype(object), None).tolist()


def explain(net: Network, x: Any, y: Any, eta: float = 0.5, path_weight: tuple[int, int, int] | None = None,
            max_checks: int = MAX_CHECKS, max_paths: int = MAX_PATHS, eps: float = EPS,
            seed: int = 0) -> Explanation:
    """Trace one example through the feedforward pass and BP1-BP4 of ``net``.

    Args:
        net: the network (not modified; the trace runs on a float64 copy).
        x: the example, shape (sizes[0],).
        y: its class label (an int in 0..sizes[-1]-1) or its target vector, shape (sizes[-1],).
        eta: the learning rate η of the SGD step shown (Δθ = −η ∂C_x/∂θ).
        path_weight: (l, j, k), 1-based layer l and 0-based j, k, of the weight w^l_jk whose
            sum over paths is shown; default: the layer-1 weight of largest |∂C/∂w|.
        max_checks: finite differences for at most this many parameters (a seeded sample beyond).
        max_paths: enumerate the paths only up to this many.
        eps: the finite-difference step ε.
        seed: seed of the finite-difference sample.

    Returns:
        An Explanation; ``to_dict()`` gives its JSON.

    Raises:
        TypeError, ValueError: a wrong network, example, target, η or weight index.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a deltaprop Network, got {type(net).__name__}")
    eta, eps = check_number("eta", eta, positive=True), check_number("eps", eps, positive=True)
    max_checks, max_paths = (check_positive_int(name, value) for name, value in
                             (("max_checks", max_checks), ("max_paths", max_paths)))
    # the float64 copy, the stepped copy, the gradient and its traces: a few copies of the parameters
    check_allocation(f"explaining a network with {net.num_parameters:,} parameters",
                     8 * 6 * net.num_parameters, "choose smaller layers")
    evaluation = net.num_parameters + EXPLAIN_LAYER_WORK * net.num_layers  # one cost, see limits
    max_checks = min(max_checks, max(1, MAX_EXPLAIN_WORK // (2 * evaluation)))
    net = net.copy()  # same activations and cost, parameters in float64
    net.dtype = np.dtype(np.float64)
    net.weights = [w.astype(np.float64) for w in net.weights]
    net.biases = [b.astype(np.float64) for b in net.biases]
    X, Y = _one_example(net, x, y)
    space = Workspace(net.sizes, net.dtype, 1)
    nabla_b, nabla_w = net.gradient(X, Y, workspace=space)
    layers = _layers(net, space, nabla_b, nabla_w)
    cost_x = float(net.cost_value(X, Y))
    with np.errstate(all="ignore"):  # ∇_a C is infinite where a cross-entropy output saturates
        grad_a = net.cost_function.gradient(space.activations[-1], Y)[0]
        agreement = _hand_computation_gap(net, layers, grad_a, X, Y)
    fd = _finite_difference_check(net, X, Y, layers, max_checks, eps, seed)
    stepped = net.copy()
    for w, b, t in zip(stepped.weights, stepped.biases, layers, strict=True):
        w -= eta * t.nabla_w
        b -= eta * t.nabla_b
    chosen = _chosen_weight(net, layers, path_weight)
    return Explanation(
        sizes=list(net.sizes), activations=net.activation_names, cost=net.cost_function.name,
        x=X[0].copy(), y=Y[0].copy(), cost_value=cost_x, grad_a=grad_a, layers=layers,
        finite_difference=fd, engine_agreement=agreement, eta=eta,
        cost_after_update=float(stepped.cost_value(X, Y)),
        path_sum=path_sum(net, layers, grad_a, X[0], chosen, max_paths),
        callouts=callouts(net, layers, X[0], Y[0]),
    )


def _one_example(net: Network, x: Any, y: Any) -> tuple[Array, Array]:
    """x (n_in,) and y (a label or (n_out,)) as checked one-row arrays (1, n_in), (1, n_out)."""
    x_array = np.asarray(x)
    if x_array.ndim != 1:
        raise ValueError(f"x must be one example of shape ({net.sizes[0]},), got shape {x_array.shape}")
    y_array = np.asarray(y)
    if y_array.ndim > 1:
        raise ValueError(f"y must be a class label or a target vector of shape ({net.sizes[-1]},), "
                         f"got shape {y_array.shape}")
    return net.check_XY(x_array[None, :], y_array[None], "x", "y")  # a label: one-hot encoded by check_Y


def _layers(net: Network, space: Workspace, nabla_b: list[Array], nabla_w: list[Array]) -> list[LayerTrace]:
    """One LayerTrace per layer from the engine's workspace (row 0) and gradient."""
    layers = []
    for i, act in enumerate(net.activations):
        z, a = space.zs[i][0].copy(), space.activations[i + 1][0].copy()
        coupled = not act.elementwise
        layers.append(LayerTrace(
            z=z, a=a, sigma_prime=None if coupled else act.derivative(z[None], a[None])[0],
            delta=space.deltas[i][0].copy(), nabla_b=nabla_b[i].copy(), nabla_w=nabla_w[i].copy(),
            weights=net.weights[i].copy(), biases=net.biases[i].copy(),
            jacobian=np.diag(a) - np.outer(a, a) if coupled and act.name == "softmax" else None,
        ))
    return layers


def _hand_computation_gap(net: Network, layers: list[LayerTrace], grad_a: Array, X: Array, Y: Array) -> float:
    """Largest |difference| between the engine's δ, ∂C/∂b, ∂C/∂w and BP1-BP4 done by hand with
    the cost and activation objects: BP1 ∇_a C ⊙ σ'(z^L) (or the Jacobian product), BP2
    (w^{l+1})ᵀ δ^{l+1} ⊙ σ'(z^l), BP3 δ^l, BP4 δ^l_j a^{l-1}_k."""
    last, output = layers[-1], net.activations[-1]
    by_cost = net.cost_function.delta(last.z[None], last.a[None], Y, output)[0]
    gaps = [np.max(np.abs(by_cost - last.delta))]
    product = output.jvp(last.a[None], grad_a[None])[0] if last.sigma_prime is None else (
        grad_a * last.sigma_prime)
    if np.all(np.isfinite(product)):  # ∇_a C is infinite where a cross-entropy output saturates
        gaps.append(np.max(np.abs(product - last.delta)))
    delta = by_cost
    for i in reversed(range(len(layers))):
        below = X[0] if i == 0 else layers[i - 1].a
        gaps += [np.max(np.abs(delta - layers[i].nabla_b)),
                 np.max(np.abs(np.outer(delta, below) - layers[i].nabla_w))]
        if i > 0:
            delta = (layers[i].weights.T @ delta) * layers[i - 1].sigma_prime
            gaps.append(np.max(np.abs(delta - layers[i - 1].delta)))
    return float(max(gaps))


def _finite_difference_check(net: Network, X: Array, Y: Array, layers: list[LayerTrace],
                             max_checks: int, eps: float, seed: int) -> dict[str, Any]:
    """Central differences of C_x for every parameter (or a seeded sample of ``max_checks``);
    sets each layer's errors and returns the summary."""
    checks, max_error, absolute = check_layers(net, X, Y, [t.nabla_w for t in layers],
                                               [t.nabla_b for t in layers], eps, max_checks, seed)
    for t, check in zip(layers, checks, strict=True):
        t.weight_error, t.bias_error, t.checked = check.weight_error, check.bias_error, check.checked
    checked = sum(t.checked for t in layers)
    return {"max_error": max_error, "max_absolute_error": absolute, "checked": checked,
            "parameters": net.num_parameters, "sampled": checked < net.num_parameters, "eps": eps,
            "error": "max |backprop − finite difference| / max |partial| per array"}


def _chosen_weight(net: Network, layers: list[LayerTrace],
                   path_weight: tuple[int, int, int] | None) -> tuple[int, int, int]:
    if path_weight is None:
        j, k = np.unravel_index(int(np.argmax(np.abs(layers[0].nabla_w))), layers[0].nabla_w.shape)
        return 1, int(j), int(k)
    if len(path_weight) != 3 or not all(isinstance(v, int | np.integer) for v in path_weight):
        raise TypeError(f"path_weight must be three integers (l, j, k), got {path_weight!r}")
    layer, j, k = (int(v) for v in path_weight)
    if not 1 <= layer <= net.num_layers:
        raise ValueError(f"path_weight's layer must be in 1..{net.num_layers}, got {layer}")
    rows, cols = net.weights[layer - 1].shape
    if not (0 <= j < rows and 0 <= k < cols):
        raise ValueError(f"path_weight ({layer}, {j}, {k}) is outside w^{layer}, of shape "
                         f"({rows}, {cols}): expected 0 <= j < {rows} and 0 <= k < {cols}")
    return layer, j, k


def path_sum(net: Network, layers: list[LayerTrace], grad_a: Array, x: Array,
             weight: tuple[int, int, int], max_paths: int = MAX_PATHS) -> PathSum:
    """∂C/∂w^l_jk as the book's sum over paths j → p → ... → m of the products of rates

        ∂C/∂a^L_m · ∂a^L_m/∂a^{L-1}_n ··· ∂a^{l+1}_p/∂a^l_j · ∂a^l_j/∂w^l_jk,

    with ∂a^{i+1}_q/∂a^i_p = σ'(z^{i+1}_q) w^{i+1}_qp and ∂a^l_j/∂w^l_jk = σ'(z^l_j) a^{l-1}_k
    (a^0 = x, shape (n_0,)). A softmax output couples its units, so there the path ends at z^L_m
    with rate ∂C/∂z^L_m = δ^L_m, as it does when ∇_a C is infinite. Paths are enumerated only up
    to ``max_paths``.
    """
    layer, j, k = weight
    L, sizes = net.num_layers, net.sizes
    count = math.prod(int(n) for n in sizes[layer + 1:]) if layer < L else 1  # exact: never inf
    bp4 = float(layers[layer - 1].nabla_w[j, k])
    if count > max_paths:
        many = f"{count:,}" if count < 10**18 else f"about 10^{len(str(count)) - 1}"
        return PathSum(layer, j, k, count, None, bp4, note=(
            f"{many} paths are too many to enumerate (limit {max_paths:,}); BP4 gives the sum"))
    through_z = layers[-1].sigma_prime is None or not np.all(np.isfinite(grad_a))
    rates_out = layers[-1].delta if through_z else grad_a
    a_below = x if layer == 1 else layers[layer - 2].a
    own = 1.0 if layer == L and through_z else layers[layer - 1].sigma_prime[j]
    start = float(own * a_below[k])
    paths = []
    for tail in itertools.product(*(range(n) for n in sizes[layer + 1:])):
        product, below = start, j
        for step, unit in enumerate(tail):
            upper = layers[layer + step]  # layer l + step + 1
            rate = 1.0 if layer + step + 1 == L and through_z else upper.sigma_prime[unit]
            product *= rate * upper.weights[unit, below]
            below = unit
        paths.append((float(product * rates_out[below]), [j, *tail]))
    paths.sort(key=lambda item: -abs(item[0]))
    return PathSum(layer, j, k, count, float(sum(p for p, _ in paths)), bp4,
                   [{"neurons": list(map(int, n)), "product": p} for p, n in paths[:LISTED]],
                   note=f"{count:,} paths enumerated")


def _units(indices: Array) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:LISTED])
    return shown + (f" and {indices.size - LISTED} more" if indices.size > LISTED else "")


def callouts(net: Network, layers: list[LayerTrace], x: Array, y: Array) -> list[str]:
    """Plain-word notes where chapter 2's insights apply to this example: outputs near 0 or 1
    (slow under the quadratic cost), weights out of low-activation neurons, saturated units."""
    notes = _output_notes(net, layers[-1], y)
    for i, t in enumerate(layers):
        below = x if i == 0 else layers[i - 1].a
        low = np.flatnonzero(np.abs(below) < LOW_ACTIVATION)
        if low.size:
            where = "inputs" if i == 0 else f"activations of layer {i}"
            notes.append(
                f"{low.size} of the {below.size} {where} are below {LOW_ACTIVATION} (units "
                f"{_units(low)}): the weights out of them in w^{i + 1} learn slowly, since "
                f"∂C/∂w^{i + 1}_jk = a^{i}_k δ^{i + 1}_j is small (zero where a^{i}_k = 0).")
        if i == len(layers) - 1 or t.sigma_prime is None:
            continue
        act = net.activations[i].name
        if act in SATURATION_PEAK:
            stuck = np.flatnonzero(t.sigma_prime < SATURATION_FRACTION * SATURATION_PEAK[act])
            why = "saturated: σ'(z) below 1% of its peak"
        elif act == "relu":
            stuck, why = np.flatnonzero(t.sigma_prime == 0), "off: z <= 0, so σ'(z) = 0"
        else:
            continue
        if stuck.size:
            notes.append(
                f"{stuck.size} of {t.z.size} units of hidden layer {i + 1} are {why} (units "
                f"{_units(stuck)}): by BP2 their δ is nearly zero, so their biases and incoming "
                f"weights learn slowly and they pass little error back.")
    return notes


def _output_notes(net: Network, last: LayerTrace, y: Array) -> list[str]:
    """Outputs near 0 or 1: slow under the quadratic cost (σ'(z^L) in BP1), not under cost
    functions that cancel it."""
    if last.sigma_prime is None or net.activations[-1].name != "sigmoid":
        return []
    near = np.flatnonzero((last.a < NEAR) | (last.a > 1 - NEAR))
    if near.size == 0:
        return []
    wrong = near[np.abs(last.a[near] - y[near]) > 0.5]
    listed = f"output units {_units(near)}"
    if net.cost_function.name == "quadratic":
        slow = (f"near 0 or 1 (σ'(z^L) at most {float(last.sigma_prime[near].max()):.3g}): under the "
                f"quadratic cost BP1 multiplies ∇_a C by σ'(z^L), so they learn slowly")
        if wrong.size:
            return [f"output units {_units(wrong)} are wrong (|a − y| > 0.5) yet {slow}: the "
                    f"learning slowdown the cross-entropy cost removes (chapter 3)."]
        return [f"{listed} are {slow}; harmless here, since each is within 0.5 of its target."]
    if net.cost_function.name == "cross_entropy":
        return [f"{listed} are near 0 or 1, but the cross-entropy cost cancels σ'(z^L): "
                f"δ^L = a − y, so a wrong output still learns fast."]
    return []
