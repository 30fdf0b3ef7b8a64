"""Activation functions σ and their derivatives σ', registered by name.

Each activation is one small object: the function a = σ(z) and its derivative σ'(z). The derivative
is given both z and a = σ(z), so that sigmoid and tanh can reuse the activation they already computed
(σ' = a(1 − a) and 1 − a²). Arrays have shape (m, n): one row per example.

The four equations of backpropagation hold for any activation (Nielsen, ch. 2), so the table is open:
``register_activation(Activation(...))`` adds one that every network can then name.

softmax couples the units of a layer, so it has no elementwise σ'. It provides the Jacobian-vector
product instead and may only be used in the output layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An activation function a = σ(z) with its derivative.

    Attributes:
        name: the name a network uses to ask for it.
        function: σ, applied to z of shape (m, n), returning a of the same shape and dtype.
        derivative: σ'(z) given (z, a); same shape as z. None for activations that couple units.
        jvp: for coupled activations (softmax), ``jvp(a, v)`` returns the rows of v multiplied by the
            Jacobian ∂a/∂z of each row; None for elementwise ones.
        outputs_probabilities: True when every output lies in (0, 1), as the cross-entropy and
            log-likelihood costs require.
        saturation: a function (z, a) -> boolean array marking saturated (or dead) units, used by
            the diagnostics; None when the activation cannot saturate.
    """

    name: str
    function: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None = None
    jvp: Callable[[Array, Array], Array] | None = None
    outputs_probabilities: bool = False
    saturation: Callable[[Array, Array], Array] | None = None

    @property
    def elementwise(self) -> bool:
        """True when σ acts on each unit alone, so that σ'(z) is a plain array."""
        return self.derivative is not None

    def __call__(self, z: Array) -> Array:
        return self.function(z)


def _sigmoid(z: Array) -> Array:
    # 1/(1+e^-z) as one ufunc, correctly rounded at both tails and without overflow for any z.
    return expit(z)


def _sigmoid_prime(z: Array, a: Array) -> Array:
    return a * (1.0 - a)


def _tanh_prime(z: Array, a: Array) -> Array:
    return 1.0 - a * a


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0, dtype=z.dtype)


def _relu_prime(z: Array, a: Array) -> Array:
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01


def _leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, z * z.dtype.type(LEAKY_SLOPE))


def _leaky_relu_prime(z: Array, a: Array) -> Array:
    return np.where(z > 0, z.dtype.type(1.0), z.dtype.type(LEAKY_SLOPE))


def _linear(z: Array) -> Array:
    return z.copy()


def _linear_prime(z: Array, a: Array) -> Array:
    return np.ones_like(z)


def _softmax(z: Array) -> Array:
    a = z - z.max(axis=1, keepdims=True)
    np.exp(a, out=a)
    a /= a.sum(axis=1, keepdims=True)
    return a


def _softmax_jvp(a: Array, v: Array) -> Array:
    # The Jacobian of softmax is diag(a) − a aᵀ (symmetric), so J v = a ⊙ (v − ⟨a, v⟩).
    return a * (v - np.sum(a * v, axis=1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {}


def register_activation(activation: Activation) -> Activation:
    """Add an activation to the table so that networks can name it; returns it unchanged."""
    if not isinstance(activation, Activation):
        raise TypeError(f"activation must be an Activation, got {type(activation).__name__}")
    if activation.derivative is None and activation.jvp is None:
        raise ValueError(f"activation {activation.name!r} needs a derivative or a jvp")
    ACTIVATIONS[activation.name] = activation
    return activation


def get_activation(spec: str | Activation) -> Activation:
    """The activation named ``spec`` (or ``spec`` itself when it already is one)."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"activation must be a name or an Activation, got {type(spec).__name__}")
    try:
        return ACTIVATIONS[spec]
    except KeyError:
        raise ValueError(
            f"unknown activation {spec!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None


register_activation(Activation(
    "sigmoid", _sigmoid, _sigmoid_prime, outputs_probabilities=True,
    saturation=lambda z, a: _sigmoid_prime(z, a) < 0.01 * 0.25,
))
register_activation(Activation(
    "tanh", np.tanh, _tanh_prime,
    saturation=lambda z, a: _tanh_prime(z, a) < 0.01,
))
register_activation(Activation("relu", _relu, _relu_prime, saturation=lambda z, a: z <= 0))
register_activation(Activation("leaky_relu", _leaky_relu, _leaky_relu_prime))
register_activation(Activation("linear", _linear, _linear_prime))
register_activation(Activation("softmax", _softmax, jvp=_softmax_jvp, outputs_probabilities=True))
