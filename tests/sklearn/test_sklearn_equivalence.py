"""deltaprop.sklearn trains as scikit-learn does: the same parameters after one epoch (to 1e-10 in
float64) from the same initial parameters, and the same runs from the same random_state."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight
from sklearn_support import ROWS, estimators, is_classification, max_difference, problem

from deltaprop.sklearn import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TASKS = ["binary", "multiclass", "multilabel", "regression", "multioutput", "poisson"]
ACTIVATION = {"binary": "relu", "multiclass": "tanh", "multilabel": "logistic",
              "regression": "relu", "multioutput": "identity", "poisson": "tanh"}
ONE_EPOCH = dict(solver="sgd", shuffle=False, max_iter=1, batch_size=32, alpha=0.01,
                 learning_rate_init=0.05, momentum=0.9, hidden_layer_sizes=(8, 5))
TOLERANCE = 1e-10


def _weights(seed: int = 1) -> np.ndarray:
    return np.random.RandomState(seed).uniform(0.0, 3.0, ROWS)


def _set_initial_parameters(estimator, X, y, rng: np.random.RandomState) -> None:
    """Fit once to build the model, then give it the parameters drawn from ``rng``."""
    estimator.fit(X, y)
    estimator.coefs_ = [rng.uniform(-0.5, 0.5, c.shape) for c in estimator.coefs_]
    estimator.intercepts_ = [rng.uniform(-0.5, 0.5, b.shape) for b in estimator.intercepts_]
    estimator.set_params(warm_start=True)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("nesterov", [True, False], ids=["nesterov", "momentum"])
def test_one_sgd_epoch_from_the_same_parameters_equals_scikit_learns(task, weighted, nesterov):
    X, y = problem(task)
    theirs, ours = estimators(task, activation=ACTIVATION[task], nesterovs_momentum=nesterov,
                              random_state=5, **ONE_EPOCH)
    for estimator in (theirs, ours):
        _set_initial_parameters(estimator, X, y, np.random.RandomState(3))
    assert max_difference(theirs, ours) == 0.0
    sample_weight = _weights() if weighted else None
    theirs.fit(X, y, sample_weight=sample_weight)
    ours.fit(X, y, sample_weight=sample_weight)
    assert max_difference(theirs, ours) < TOLERANCE
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12, abs=1e-14)
    assert ours.n_iter_ == theirs.n_iter_ == 1
    assert ours.t_ == theirs.t_


@pytest.mark.parametrize("task", TASKS)
def test_the_same_random_state_gives_scikit_learns_initial_parameters_and_run(task):
    """Default solver (Adam), shuffled epochs: the same draws, the same run to rounding."""
    X, y = problem(task)
    theirs, ours = estimators(task, hidden_layer_sizes=(10,), max_iter=15, random_state=2,
                              learning_rate_init=0.01)
    first_theirs, first_ours = estimators(task, hidden_layer_sizes=(10,), max_iter=1, random_state=2,
                                          learning_rate_init=1e-300)  # a step too small to move
    assert max_difference(first_theirs.fit(X, y), first_ours.fit(X, y)) < 1e-15
    sample_weight = _weights(4)
    theirs.fit(X, y, sample_weight=sample_weight)
    ours.fit(X, y, sample_weight=sample_weight)
    assert max_difference(theirs, ours) < 1e-9
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert ours.n_iter_ == theirs.n_iter_
    if is_classification(task):
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    else:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("params", [
    dict(solver="sgd", learning_rate="invscaling", power_t=0.3, learning_rate_init=0.1),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=0.5, n_iter_no_change=2),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, tol=0.0),
    dict(solver="sgd", momentum=0.0, nesterovs_momentum=False, batch_size=17, alpha=0.3),
    dict(solver="adam", tol=1e-2, n_iter_no_change=2),
], ids=["invscaling", "adaptive", "early_stopping", "plain_sgd", "tol"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_schedules_and_stopping_follow_scikit_learn(task, params):
    X, y = problem(task)
    theirs, ours = estimators(task, hidden_layer_sizes=(7,), max_iter=40, random_state=0, **params)
    theirs.fit(X, y)
    ours.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert max_difference(theirs, ours) < 1e-9
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=1e-9)
    else:
        assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-9)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_partial_fit_and_warm_start_continue_as_scikit_learns(task):
    X, y = problem(task)
    kwargs = dict(hidden_layer_sizes=(6,), random_state=1, learning_rate_init=0.01)
    theirs, ours = estimators(task, **kwargs)
    classes = {"classes": np.unique(y)} if is_classification(task) else {}
    for start in (0, 50, 100):
        rows = slice(start, start + 50)
        theirs.partial_fit(X[rows], y[rows], **classes)
        ours.partial_fit(X[rows], y[rows], **classes)
    assert max_difference(theirs, ours) < 1e-12
    assert ours._optimizer.t == theirs._optimizer.t == 3  # Adam's state carried across the calls
    theirs, ours = estimators(task, warm_start=True, max_iter=3, **kwargs)
    with pytest.warns(ConvergenceWarning):
        for _ in range(2):
            theirs.fit(X, y)
            ours.fit(X, y)
    assert max_difference(theirs, ours) < 1e-12
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 6


@pytest.mark.parametrize("class_weight", ["balanced", {"low": 3.0, "mid": 1.0, "high": 0.5}])
def test_class_weight_multiplies_the_sample_weights(class_weight):
    X, y = problem("multiclass")
    sample_weight = _weights()
    weighted = MLPClassifier(class_weight=class_weight, random_state=0, max_iter=5)
    explicit = MLPClassifier(random_state=0, max_iter=5)
    weighted.fit(X, y, sample_weight=sample_weight)
    explicit.fit(X, y, sample_weight=sample_weight * compute_sample_weight(class_weight, y))
    assert max_difference(weighted, explicit) == 0.0


@pytest.mark.parametrize("weighted", [False, True])
def test_the_log_loss_of_one_hot_rows_read_at_their_labels_is_the_same_number(weighted):
    """batch_loss with the labels of one-hot rows takes ln p at each label: the number the sum over
    every output gives, bit for bit, clipping included."""
    from deltaprop.activations import get_activation
    from deltaprop.costs import get_cost
    from deltaprop.sklearn._losses import batch_loss

    rng = np.random.default_rng(0)
    z = rng.normal(0, 20, (50, 7))
    a = get_activation("softmax")(z)
    a[0], a[1] = 0.0, 1.0  # clipped to ε and 1 − ε
    labels = rng.integers(0, 7, 50)
    Y = np.eye(7)[labels]
    weights = rng.random(50) if weighted else None
    args = ("log_loss", get_cost("log_likelihood"), get_activation("softmax"), z, a, Y, weights)
    assert batch_loss(*args, labels) == batch_loss(*args)
