"""Initial parameters: scikit-learn's Glorot uniform, drawn from its RandomState, or deltaprop's.

scikit-learn draws, layer by layer, coef (n_in, n_out) then intercept (n_out,) uniformly in
[−b, b] with b = √(factor / (n_in + n_out)), factor 2 for 'logistic' hidden units and 6 otherwise
(``_init_coef``). ``glorot_uniform`` makes the same draws in the same order from the same
``RandomState``, so an estimator with a given ``random_state`` starts where scikit-learn's does.
Every other name is one of deltaprop's initializers (``deltaprop.INITIALIZERS``), fed from a numpy
Generator seeded by one draw of the RandomState.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deltaprop.initializers import INITIALIZERS

Array = np.ndarray
GLOROT = "glorot_uniform"
INIT_NAMES = (GLOROT, *sorted(INITIALIZERS))


def initial_parameters(init: str, layer_units: Sequence[int], activation: str,
                       random_state: np.random.RandomState,
                       dtype: np.dtype) -> tuple[list[Array], list[Array]]:
    """(weights, biases) in deltaprop's layout: weights[i] (n_out, n_in), biases[i] (n_out,).

    Args:
        init: "glorot_uniform" (scikit-learn's) or a name of ``deltaprop.INITIALIZERS``.
        layer_units: units per layer, inputs first.
        activation: scikit-learn's name of the hidden activation (its factor depends on it).
        random_state: the RandomState the draws come from (advanced as scikit-learn's is).
        dtype: the parameters' dtype.
    """
    shapes = list(zip(layer_units[:-1], layer_units[1:], strict=True))
    weights, biases = [], []
    if init == GLOROT:
        factor = 2.0 if activation == "logistic" else 6.0
        for fan_in, fan_out in shapes:
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = random_state.uniform(-bound, bound, fan_out)
            weights.append(np.ascontiguousarray(coef.T, dtype=dtype))
            biases.append(intercept.astype(dtype))
        return weights, biases
    rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    for fan_in, fan_out in shapes:
        w, b = INITIALIZERS[init](rng, fan_in, fan_out)
        weights.append(np.ascontiguousarray(w, dtype=dtype))
        biases.append(np.asarray(b, dtype=dtype))
    return weights, biases
