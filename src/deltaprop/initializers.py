"""Initial weights and biases: each initializer draws one layer's (w, b) from a numpy Generator.

``w`` has shape (n_out, n_in), ``b`` shape (n_out,); the network converts them to its dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deltaprop.registry import Registry

Array = np.ndarray
Initializer = Callable[[np.random.Generator, int, int], tuple[Array, Array]]


def _default_init(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[Array, Array]:
    """network2.py: weights N(0, 1/n_in), biases N(0, 1)."""
    return rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_out, n_in)), rng.normal(0.0, 1.0, n_out)


def _large_init(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[Array, Array]:
    """network.py: weights and biases N(0, 1)."""
    return rng.normal(0.0, 1.0, (n_out, n_in)), rng.normal(0.0, 1.0, n_out)


def _xavier_init(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[Array, Array]:
    """Glorot & Bengio: weights N(0, 2/(n_in + n_out)), biases 0."""
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_out, n_in)), np.zeros(n_out)


def _he_init(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[Array, Array]:
    """He et al., for ReLU layers: weights N(0, 2/n_in), biases 0."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out)


INITIALIZERS: Registry[Initializer] = Registry("init")
"""Initializers by name: the one table networks, the command line and the sweeps read."""
for _name, _initializer in (("default", _default_init), ("large", _large_init),
                            ("xavier", _xavier_init), ("he", _he_init)):
    INITIALIZERS.register(_name, _initializer)
