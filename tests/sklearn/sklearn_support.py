"""Small problems for the deltaprop.sklearn tests, and pairs of estimators started alike."""

from __future__ import annotations

import numpy as np
from sklearn import neural_network

from deltaprop import sklearn as dp

ROWS, FEATURES = 150, 6


def problem(task: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (150, 6) and targets for ``task``: binary ({3, 7}), multiclass (strings), multilabel
    (indicator (150, 3)), regression (150,), multioutput (150, 3) or poisson (counts (150,))."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(ROWS, FEATURES))
    score = X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3]
    if task == "binary":
        return X, np.where(score > 0, 7, 3)
    if task == "multiclass":
        return X, np.array(["low", "mid", "high"])[np.digitize(score, [-0.7, 0.7])]
    if task == "multilabel":
        return X, np.stack([score > 0, X[:, 4] > 0, X[:, 5] + X[:, 0] > 0.5], axis=1).astype(int)
    if task == "regression":
        return X, score + 0.1 * rng.normal(size=ROWS)
    if task == "multioutput":
        return X, np.stack([score, X[:, 4] ** 2, np.sin(X[:, 5])], axis=1)
    if task == "poisson":
        return X, rng.poisson(np.exp(0.5 * np.tanh(score))).astype(float)
    raise ValueError(task)


def is_classification(task: str) -> bool:
    return task in ("binary", "multiclass", "multilabel")


def estimators(task: str, **params):
    """(scikit-learn's estimator, deltaprop's), both with ``params``."""
    if task == "poisson":
        params = {"loss": "poisson", **params}
    if is_classification(task):
        return neural_network.MLPClassifier(**params), dp.MLPClassifier(**params)
    return neural_network.MLPRegressor(**params), dp.MLPRegressor(**params)


def max_difference(a, b) -> float:
    """Largest absolute difference between two estimators' coefs_ and intercepts_."""
    return max(float(np.max(np.abs(p - q)))
               for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True))
