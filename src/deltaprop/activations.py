"""Activation functions σ and their derivatives σ', registered by name.

Each activation is one small object that owns two kernels, both writing into arrays it is given
(shape (m, n), one row per example), so that a training step allocates nothing:

- ``forward(z, out)``: a = σ(z) into ``out`` (which may be ``z`` itself);
- ``multiply_derivative(z, a, delta, scratch)``: δ ← δ ⊙ σ'(z), the ⊙ σ'(z^l) of BP1 and BP2, given
  z and a = σ(z) (sigmoid and tanh reuse a: σ' = a(1 − a) and 1 − a²), with a scratch array of z's
  shape.

and, for reading and testing, the plain forms ``σ(z)`` (calling the object) and ``derivative(z, a)``.
The tests hold every in-place kernel equal to its plain formula. ``onnx_operator`` names σ's ONNX
operator, as plain data (this module imports no onnx).

The four equations of backpropagation hold for any activation (Nielsen, ch. 2), so the registry
``ACTIVATIONS`` is open: ``register_activation(Activation("name", function, derivative))`` adds one that
every network, the command line, the model files and the sweep can then name, or subclass
``Activation`` and override the kernels. Activations are plain objects of module-level classes, so
networks that use them pickle.

softmax couples the units of a layer, so it has no elementwise σ'. It provides the Jacobian-vector
product instead and may only be used in the output layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.special import expit

from deltaprop.registry import Registry

Array = np.ndarray
Function = Callable[[Array], Array]
Derivative = Callable[[Array, Array], Array]
OnnxOperator = tuple[str, dict[str, int | float]]
"""An ONNX operator of one input and one output, and its attributes: ("LeakyRelu", {"alpha": 0.01})."""

SATURATION_FRACTION = 0.01
"""A sigmoid or tanh unit counts as saturated where σ'(z) is below this fraction of its maximum."""

EXPIT_FLOAT32_MAX = 2048
"""float32 sigmoids of more entries use (1 + tanh(z/2))/2: four SIMD passes beat expit's scalar loop."""


class Activation:
    """An activation function a = σ(z) with its derivative, as plain functions or in-place kernels.

    Args:
        name: the name a network uses to ask for it.
        function: σ, from z of shape (m, n) to a of the same shape and dtype.
        derivative: σ'(z) given (z, a), same shape as z; None for activations that couple units.
        jvp: for coupled activations (softmax), ``jvp(a, v)`` returns the rows of v multiplied by the
            Jacobian ∂a/∂z of each row; None for elementwise ones.
        outputs_probabilities: True when every output lies in (0, 1), as the cross-entropy and
            log-likelihood costs require.

    Subclasses override ``forward`` and ``multiply_derivative`` with in-place kernels; the base class
    builds them from ``function`` and ``derivative`` (allocating their results).
    """

    onnx_operator: OnnxOperator | None = None
    """The ONNX operator computing σ on z of shape (m, n), ("Identity", {}) adding no node; None: no
    ONNX form. Only the class that declares it is exported (a subclass's kernels may differ). Float
    attributes are float32 in ONNX (the export writes LeakyRelu's alpha exactly in float64)."""

    def __init__(self, name: str, function: Function | None = None,
                 derivative: Derivative | None = None, jvp: Callable[[Array, Array], Array] | None = None,
                 outputs_probabilities: bool = False) -> None:
        self.name = name
        self._function = function
        self._derivative = derivative
        self._jvp = jvp
        self.outputs_probabilities = outputs_probabilities

    @property
    def elementwise(self) -> bool:
        """True when σ acts on each unit alone, so that σ'(z) is a plain array."""
        return self._jvp is None

    def __call__(self, z: Array) -> Array:
        """σ(z), a new array."""
        return self.forward(z, np.empty_like(z))

    def forward(self, z: Array, out: Array) -> Array:
        """a = σ(z) written into ``out`` (which may be ``z``); returns ``out``."""
        if self._function is None:
            raise NotImplementedError(f"activation {self.name!r} defines no function")
        np.copyto(out, self._function(z))
        return out

    def derivative(self, z: Array, a: Array) -> Array:
        """σ'(z) given z and a = σ(z), a new array (elementwise activations only)."""
        if self._derivative is None:
            raise TypeError(f"activation {self.name!r} couples its units: it has a jvp, no σ'")
        return self._derivative(z, a)

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        """δ ← δ ⊙ σ'(z), in place; ``scratch`` is an array of z's shape the kernel may overwrite."""
        np.multiply(delta, self.derivative(z, a), out=delta)

    def jvp(self, a: Array, v: Array) -> Array:
        """Rows of v times the Jacobian ∂a/∂z of each row; elementwise: v ⊙ σ'(z) needs z, so no."""
        if self._jvp is None:
            raise TypeError(f"activation {self.name!r} is elementwise: use multiply_derivative")
        return self._jvp(a, v)

    def log_output(self, z: Array, a: Array) -> Array:
        """ln a for probability outputs (see ``log_outputs``), without ln(1 − a)."""
        return self.log_outputs(z, a)[0]

    def log_outputs(self, z: Array, a: Array) -> tuple[Array, Array]:
        """(ln a, ln(1 − a)) for probability outputs: the costs' logarithms, exact where 1 − a rounds
        to 0. This generic form clips a into [tiny, 1]; sigmoid and softmax compute them from z."""
        return _safe_log(a), _safe_log(1.0 - a)

    def saturation(self, z: Array, a: Array) -> float | None:
        """The fraction of this layer's units that are saturated (or dead) on the rows of z, a;
        None when σ cannot saturate."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z))."""

    onnx_operator = ("Sigmoid", {})

    def __init__(self) -> None:
        super().__init__("sigmoid", outputs_probabilities=True)

    def forward(self, z: Array, out: Array) -> Array:
        if z.dtype == np.float32 and z.size > EXPIT_FLOAT32_MAX:
            np.multiply(z, np.float32(0.5), out=out)  # (1 + tanh(z/2)) / 2
            np.tanh(out, out=out)
            np.add(out, np.float32(1.0), out=out)
            return np.multiply(out, np.float32(0.5), out=out)
        # expit: one ufunc, correctly rounded at both tails, no overflow for any z
        return expit(z, out=out)

    def derivative(self, z: Array, a: Array) -> Array:
        return a * (1.0 - a)

    def log_outputs(self, z: Array, a: Array) -> tuple[Array, Array]:
        return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)  # ln σ(z) = −ln(1 + e^(−z)), ln σ(−z)

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        np.subtract(1.0, a, out=scratch)
        np.multiply(scratch, a, out=scratch)
        np.multiply(delta, scratch, out=delta)

    def saturation(self, z: Array, a: Array) -> float:
        """Units with σ'(z) below 1% of its maximum 1/4, averaged over units and rows."""
        return float(np.mean(self.derivative(z, a) < SATURATION_FRACTION * 0.25))


class Tanh(Activation):
    """tanh(z); σ'(z) = 1 − tanh²(z)."""

    onnx_operator = ("Tanh", {})

    def __init__(self) -> None:
        super().__init__("tanh")

    def forward(self, z: Array, out: Array) -> Array:
        return np.tanh(z, out=out)

    def derivative(self, z: Array, a: Array) -> Array:
        return 1.0 - a * a

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        np.multiply(a, a, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
        np.multiply(delta, scratch, out=delta)

    def saturation(self, z: Array, a: Array) -> float:
        """Units with σ'(z) below 1% of its maximum 1, averaged over units and rows."""
        return float(np.mean(self.derivative(z, a) < SATURATION_FRACTION))


class ReLU(Activation):
    """max(z, 0); σ'(z) = 1 where z > 0, else 0."""

    onnx_operator = ("Relu", {})

    def __init__(self) -> None:
        super().__init__("relu")

    def forward(self, z: Array, out: Array) -> Array:
        if out is z:
            return np.maximum(z, 0.0, out=out)
        out.fill(0.0)  # max(z, 0) against an array of zeros: numpy's SIMD loop, not its slower
        return np.maximum(z, out, out=out)  # one for a scalar (two passes take 2/3 of the time)

    def derivative(self, z: Array, a: Array) -> Array:
        return (z > 0).astype(z.dtype)

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        np.greater(z, 0.0, out=scratch)  # 1.0 where z > 0, else 0.0
        np.multiply(delta, scratch, out=delta)

    def saturation(self, z: Array, a: Array) -> float:
        """The fraction of dead units: z <= 0 on every row."""
        return float(np.mean(np.all(z <= 0, axis=0)))


class LeakyReLU(Activation):
    """z where z > 0, else slope · z; σ'(z) = 1 or slope."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__("leaky_relu")
        self.slope = slope

    def forward(self, z: Array, out: Array) -> Array:
        slope = z.dtype.type(self.slope)
        if out is z:
            return np.multiply(z, np.where(z > 0, z.dtype.type(1.0), slope), out=out)
        np.multiply(z, slope, out=out)
        return np.maximum(z, out, out=out)  # max(z, slope·z) with 0 < slope < 1

    def derivative(self, z: Array, a: Array) -> Array:
        return np.where(z > 0, z.dtype.type(1.0), z.dtype.type(self.slope))

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        np.greater(z, 0.0, out=scratch)
        np.multiply(scratch, scratch.dtype.type(1.0 - self.slope), out=scratch)
        np.add(scratch, scratch.dtype.type(self.slope), out=scratch)
        np.multiply(delta, scratch, out=delta)

    @property
    def onnx_operator(self) -> OnnxOperator:  # type: ignore[override]
        return "LeakyRelu", {"alpha": float(self.slope)}


class Linear(Activation):
    """The identity: a = z, σ' = 1."""

    onnx_operator = ("Identity", {})

    def __init__(self) -> None:
        super().__init__("linear")

    def forward(self, z: Array, out: Array) -> Array:
        if out is not z:
            np.copyto(out, z)
        return out

    def derivative(self, z: Array, a: Array) -> Array:
        return np.ones_like(z)

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        return  # δ ⊙ 1 = δ


class Softmax(Activation):
    """a_j = e^(z_j) / Σ_k e^(z_k) over each row; couples the units, so output layer only."""

    onnx_operator = ("Softmax", {"axis": 1})  # each row, from opset 13 on

    def __init__(self) -> None:
        super().__init__("softmax", jvp=_softmax_jvp, outputs_probabilities=True)

    def forward(self, z: Array, out: Array) -> Array:
        # z.max and out.sum's reductions, called directly (their Python layers cost a third)
        np.subtract(z, np.maximum.reduce(z, axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        np.divide(out, np.add.reduce(out, axis=1, keepdims=True), out=out)
        return out

    def log_output(self, z: Array, a: Array) -> Array:
        return log_softmax(z)  # not ln(1 − a): that costs O(k²) per row

    def log_outputs(self, z: Array, a: Array) -> tuple[Array, Array]:
        return log_softmax(z), log_one_minus_softmax(z)


class Softplus(Activation):
    """σ(z) = ln(1 + e^z), a smooth ReLU; σ'(z) = 1 / (1 + e^(−z)), the logistic function. Like ReLU
    it fades only for z < 0, so its saturation counts dead units (σ'(z) < 1% on every row)."""

    onnx_operator = ("Softplus", {})

    def __init__(self) -> None:
        super().__init__("softplus")

    def forward(self, z: Array, out: Array) -> Array:
        # σ(z) = ln(1 + e^z) = ln(e^0 + e^z): logaddexp never overflows, and keeps e^z's digits for z ≪ 0
        return np.logaddexp(0.0, z, out=out)

    def derivative(self, z: Array, a: Array) -> Array:
        return expit(z)

    def multiply_derivative(self, z: Array, a: Array, delta: Array, scratch: Array) -> None:
        expit(z, out=scratch)  # σ'(z) = 1 / (1 + e^(−z))
        np.multiply(delta, scratch, out=delta)

    def saturation(self, z: Array, a: Array) -> float:
        """The fraction of dead units: σ'(z) below 1% of its maximum 1 on every row."""
        return float(np.mean(np.all(expit(z) < SATURATION_FRACTION, axis=0)))


def _max_and_log_sum(z: Array, axis: int) -> tuple[Array, Array]:
    """(t, ln Σ e^(z − t)) with t the maximum along ``axis``: ln Σ e^z = t + ln Σ e^(z − t)."""
    top = np.max(z, axis=axis, keepdims=True)
    return top, np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))


def log_softmax(z: Array) -> Array:
    """ln a = (z − t) − ln Σ e^(z − t): never forms t + ln Σ (≈ |z|), whose rounding would show."""
    top, log_sum = _max_and_log_sum(z, axis=1)
    return (z - top) - log_sum


def log_one_minus_softmax(z: Array) -> Array:
    """ln(1 − a_k) = ln Σ_(i≠k) e^(z_i) − ln Σ_i e^(z_i): exact even where a_k rounds to 1."""
    others = np.repeat(z[:, None, :], z.shape[1], axis=1)  # (m, k, i): row k leaves z_k out
    diagonal = np.arange(z.shape[1])
    others[:, diagonal, diagonal] = -np.inf
    top_others, log_sum_others = _max_and_log_sum(others, axis=2)
    top, log_sum = _max_and_log_sum(z, axis=1)
    return (top_others[:, :, 0] - top) + (log_sum_others[:, :, 0] - log_sum)


def _safe_log(p: Array) -> Array:
    """ln p with p clipped into [tiny, 1], so that a probability of exactly 0 gives a large finite cost."""
    return np.log(np.clip(p, np.finfo(p.dtype).tiny, 1.0))


def _softmax_jvp(a: Array, v: Array) -> Array:
    # The Jacobian of softmax is diag(a) − a aᵀ (symmetric), so J v = a ⊙ (v − ⟨a, v⟩).
    return a * (v - np.sum(a * v, axis=1, keepdims=True))


ACTIVATIONS: Registry[Activation] = Registry("activation")
"""Every activation a network, the command line, a model file or a sweep can name, by its name."""


def register_activation(activation: Activation) -> Activation:
    """Add (or replace) an activation under its name, an identifier; returns it unchanged."""
    if not isinstance(activation, Activation):
        raise TypeError(f"activation must be an Activation, got {type(activation).__name__}")
    if activation.elementwise and activation._derivative is None and (
        type(activation).derivative is Activation.derivative
    ):
        raise ValueError(f"activation {activation.name!r} needs a derivative or a jvp")
    return ACTIVATIONS.register(activation.name, activation)


def get_activation(spec: str | Activation) -> Activation:
    """The activation named ``spec`` (hyphens read as underscores), or ``spec`` itself when it
    already is one. An unknown name is a ValueError listing the names and the closest one."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"activation must be a name or an Activation, got {type(spec).__name__}")
    return ACTIVATIONS.get_entry(spec)


for _activation in (Sigmoid(), Tanh(), ReLU(), LeakyReLU(), Linear(), Softmax(), Softplus()):
    register_activation(_activation)


def resolve_activations(
    activation: str | Activation | Sequence[str | Activation],
    output_activation: str | Activation | None,
    n_layers: int,
    default_output: str | Activation,
) -> list[Activation]:
    """One Activation per layer after the input (``n_layers`` of them), as ``Network`` takes them.

    Args:
        activation: one name (or object) for the hidden layers, or a list of ``n_layers`` naming
            every layer, the last being the output layer's.
        output_activation: the output layer's; overrides the last of a list.
        n_layers: layers with parameters (``len(sizes) - 1``).
        default_output: the output layer's when ``activation`` is one name and ``output_activation``
            is None (the cost's ``output_activation``).

    Raises:
        ValueError: a list of the wrong length, an unknown name, or a coupled activation (softmax)
            in a hidden layer.
    """
    if isinstance(activation, str | Activation):
        names = [activation] * (n_layers - 1) + [default_output]
    else:
        names = list(activation)
        if len(names) != n_layers:
            raise ValueError(
                f"activation must be one name (for the hidden layers) or a list of {n_layers} names "
                f"(one per layer after the input), got a list of {len(names)}"
            )
    if output_activation is not None:
        names[-1] = output_activation
    activations = [get_activation(name) for name in names]
    for layer, act in enumerate(activations[:-1], start=1):
        if not act.elementwise:
            raise ValueError(
                f"activation {act.name!r} couples the units of a layer and is allowed only in the "
                f"output layer, got it in hidden layer {layer}"
            )
    return activations
