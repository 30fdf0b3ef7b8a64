"""The estimators' parameters: scikit-learn's table, deltaprop's additions, and name mappings.

scikit-learn's parameters keep their names, constraints and defaults (``BaseMultilayerPerceptron``
in scikit-learn 1.9), with one difference: ``momentum`` must be below 1. deltaprop's own parameters
follow them.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from deltaprop.activations import Activation
from deltaprop.costs import Cost
from deltaprop.sklearn._init import INIT_NAMES

HIDDEN_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                      "leaky_relu": "leaky_relu"}
"""scikit-learn's activation names (and deltaprop's leaky_relu) -> deltaprop's."""

SKLEARN_NAMES = {"linear": "identity", "sigmoid": "logistic"}
"""deltaprop's activation names -> scikit-learn's, where they differ (for ``out_activation_``)."""

STOCHASTIC_SOLVERS = ("sgd", "adam")

PARAMETER_CONSTRAINTS: dict[str, list[Any]] = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    # deltaprop's own
    "cost": [None, str, Cost],
    "output_activation": [None, str, Activation],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "l1": [Interval(Real, 0, None, closed="left")],
    "dtype": [None, StrOptions({"float32", "float64"}), type],
    "init": [StrOptions(set(INIT_NAMES))],
    "validation_data": [None, tuple, list],
    "callbacks": [None, list, tuple],
}


def store_params(estimator: object, values: dict[str, Any]) -> None:
    """Set each constructor argument (``locals()`` of an ``__init__``) as an attribute, unchanged."""
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def sklearn_name(activation: Activation) -> str:
    """scikit-learn's name of an activation ('logistic', 'identity', ...), else deltaprop's."""
    return SKLEARN_NAMES.get(activation.name, activation.name)


def deltaprop_activation(name: str | Activation) -> str | Activation:
    """An output activation given by scikit-learn's name or deltaprop's, in deltaprop's terms."""
    if isinstance(name, str):
        return HIDDEN_ACTIVATIONS.get(name, name)
    return name
