"""Input scaling that belongs to the model: a^0 = (x − center) / scale, one (center, scale) per feature.

A network trained on scaled features must be given the same scaling of every row it later sees, by
every path (``predict``, ``evaluate``, ``explain``, the report, ONNX). So the fitted scaling is part of
the network (``Network.scaling``) and saved in its model file, as scikit-learn keeps a fitted
``StandardScaler`` in a ``Pipeline``. It is fitted on the training rows only.

``SCALINGS`` holds the kinds, each a class with ``name`` and ``fit``:

- ``standard``: center = the mean, scale = the standard deviation of each feature (scikit-learn's
  ``StandardScaler``); a constant feature keeps scale 1, so it becomes 0;
- ``minmax``: center = the minimum, scale = the range, so training features lie in [0, 1]
  (scikit-learn's ``MinMaxScaler``); a constant feature keeps scale 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop._validation import as_parameter, check_dtype
from deltaprop.registry import Registry

Array = np.ndarray
NO_SCALING = "none"
"""The name that asks for no scaling (``deltaprop train --scale none``)."""


class Scaling:
    """A fitted scaling of n features: ``apply(X)`` = (X − center) / scale, row by row.

    Args:
        center: shape (n,), in the features' units.
        scale: shape (n,), positive, in the features' units.
        dtype: the network's dtype; both arrays are stored in it.
    """

    name = "affine"

    def __init__(self, center: Any, scale: Any, dtype: Any = "float64") -> None:
        dtype = check_dtype(dtype)
        center = np.asarray(center)
        if center.ndim != 1 or center.size == 0:
            raise ValueError(f"a scaling's center must be a non-empty 1-D array, got shape {center.shape}")
        self.center = as_parameter("center", center, center.shape, dtype)
        self.scale = as_parameter("scale", scale, center.shape, dtype)
        if not np.all(self.scale > 0):
            raise ValueError("a scaling's scale must be positive for every feature")

    @property
    def n_features(self) -> int:
        return int(self.center.shape[0])

    def apply(self, X: Array) -> Array:
        """(X − center) / scale for checked rows X (m, n): a new array of X's dtype."""
        result = np.subtract(X, self.center, dtype=X.dtype)
        result /= self.scale
        return result

    def astype(self, dtype: Any) -> Scaling:
        """The same scaling with arrays of ``dtype``."""
        return type(self)(self.center, self.scale, dtype)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Scaling) and self.name == other.name
                and np.array_equal(self.center, other.center) and np.array_equal(self.scale, other.scale))

    __hash__ = None  # mutable arrays inside

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features={self.n_features})"

    @classmethod
    def fit(cls, X: Array, dtype: Any = "float64") -> Scaling:
        """The scaling of this kind fitted on the training rows X (m, n)."""
        raise NotImplementedError


def _unit_where_constant(spread: Array) -> Array:
    """``spread`` with the zeros (constant features) set to 1: such a feature is centered, not divided."""
    return np.where(spread > 0, spread, 1.0)


class StandardScaling(Scaling):
    """Mean 0 and standard deviation 1 on the training rows (scikit-learn's StandardScaler)."""

    name = "standard"

    @classmethod
    def fit(cls, X: Array, dtype: Any = "float64") -> StandardScaling:
        X = np.asarray(X, dtype=np.float64)
        return cls(X.mean(axis=0), _unit_where_constant(X.std(axis=0)), dtype)


class MinMaxScaling(Scaling):
    """Training rows mapped to [0, 1] feature by feature (scikit-learn's MinMaxScaler)."""

    name = "minmax"

    @classmethod
    def fit(cls, X: Array, dtype: Any = "float64") -> MinMaxScaling:
        X = np.asarray(X, dtype=np.float64)
        low = X.min(axis=0)
        return cls(low, _unit_where_constant(X.max(axis=0) - low), dtype)


SCALINGS: Registry[type[Scaling]] = Registry("scaling")
for _kind in (StandardScaling, MinMaxScaling):
    SCALINGS.register(_kind.name, _kind)


def fit_scaling(kind: str, X: Array, dtype: Any = "float64") -> Scaling | None:
    """The scaling ``kind`` (a name of ``SCALINGS``, or ``"none"``: None) fitted on training rows X (m, n)."""
    if isinstance(kind, str) and kind.strip().lower() == NO_SCALING:
        return None
    return SCALINGS.get_entry(kind).fit(X, dtype)


def scaling_from_arrays(kind: str, center: Any, scale: Any, dtype: Any = "float64") -> Scaling:
    """A stored scaling: its kind's class around the saved ``center`` and ``scale`` (both (n,))."""
    return SCALINGS.get_entry(kind)(center, scale, dtype)
