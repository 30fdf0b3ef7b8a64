"""solver="lbfgs" is scikit-learn's: from the same random_state a fit takes its path (the same
parameters to 1e-6 relative, float64), its loss, n_iter_ and warnings; and the public surface around
it (partial_fit absent, coefs_ and intercepts_ assignable before and after fit)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn import neural_network
from sklearn.exceptions import ConvergenceWarning
from sklearn_support import ROWS, estimators, is_classification, max_difference, problem

from deltaprop.regularization import Regularization
from deltaprop.sklearn import MLPClassifier, MLPRegressor
from deltaprop.sklearn._lbfgs import Objective, pack

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TASKS = ["binary", "multiclass", "multilabel", "regression", "multioutput", "poisson"]
ACTIVATION = {"binary": "relu", "multiclass": "tanh", "multilabel": "logistic",
              "regression": "relu", "multioutput": "identity", "poisson": "tanh"}
LBFGS = dict(solver="lbfgs", hidden_layer_sizes=(8, 5), alpha=0.01, tol=1e-3, max_iter=40,
             random_state=3)  # binary and multioutput converge (tol), the others stop at max_iter
RELATIVE = 1e-6  # measured at most 1.2e-11; L-BFGS-B amplifies rounding: ~1e-2 after 200 iterations


def _relative_difference(a, b) -> float:
    """Largest |a − b| over each parameter array, relative to the array's largest |b|."""
    return max(float(np.max(np.abs(p - q)) / np.max(np.abs(q)))
               for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True))


def _fit_recording(estimator, *args, **kwargs) -> list[str]:
    """Fit; the texts of the ConvergenceWarnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(*args, **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("task", TASKS)
def test_lbfgs_takes_scikit_learns_path(task, weighted):
    X, y = problem(task)
    theirs, ours = estimators(task, activation=ACTIVATION[task], **LBFGS)
    sample_weight = np.random.RandomState(1).uniform(0.0, 3.0, ROWS) if weighted else None
    their_warnings = _fit_recording(theirs, X, y, sample_weight=sample_weight)
    our_warnings = _fit_recording(ours, X, y, sample_weight=sample_weight)
    assert _relative_difference(ours, theirs) < RELATIVE
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_ == 0
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    assert our_warnings == their_warnings  # converged (tol) or "lbfgs failed to converge ..."
    stochastic_only = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_")
    assert not any(hasattr(ours, name) or hasattr(theirs, name) for name in stochastic_only)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("task", ["multiclass", "multilabel", "regression", "poisson"])
def test_the_gradient_is_the_loss_derivative(task, activation):
    """Central differences of J at a point, as scikit-learn's test_gradient does with its own. (Not
    for several squared-error outputs: scikit-learn's J averages them, its gradient sums them.)"""
    X, y = problem(task)
    _, model = estimators(task, activation=activation, **{**LBFGS, "max_iter": 1})
    _fit_recording(model, X[:10], y[:10])
    Y = model._label_binarizer.transform(y[:10]) if is_classification(task) else y[:10]
    weights = np.linspace(0.5, 2.0, 10)
    objective = Objective(model.network_, X[:10], np.asarray(Y, float).reshape(10, -1), weights,
                          Regularization(0.3))
    theta = pack(model.network_.weights, model.network_.biases) + 0.1
    _, gradient = objective(theta)
    steps = np.eye(theta.size) * 1e-6
    numeric = [(objective(theta + e)[0] - objective(theta - e)[0]) / 2e-6 for e in steps]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_max_fun_and_warm_start_follow_scikit_learn():
    X, y = problem("regression")
    theirs, ours = estimators("regression", **{**LBFGS, "max_fun": 10, "tol": 0.0})
    assert _fit_recording(ours, X, y) == _fit_recording(theirs, X, y)
    assert "EVALUATIONS EXCEEDS LIMIT" in _fit_recording(ours, X, y)[0] and ours.n_iter_ <= 10
    theirs, ours = estimators("multiclass", warm_start=True, **{**LBFGS, "max_iter": 15})
    for _ in range(2):  # the second fit starts where the first ended, 15 more iterations
        _fit_recording(theirs, *problem("multiclass"))
        _fit_recording(ours, *problem("multiclass"))
        assert ours.n_iter_ == theirs.n_iter_ == 15
    assert _relative_difference(ours, theirs) < RELATIVE


def test_training_goes_on_from_lbfgs_with_a_stochastic_solver():
    """scikit-learn's estimators fail here (no loss_curve_ after lbfgs); deltaprop's start the
    stopping state anew."""
    X, y = problem("multiclass")
    model = MLPClassifier(warm_start=True, **{**LBFGS, "max_iter": 5})
    _fit_recording(model, X, y)
    parameters = [c.copy() for c in model.coefs_]
    _fit_recording(model.set_params(solver="adam", max_iter=3), X, y)
    assert model.n_iter_ == len(model.loss_curve_) == 3 and model.t_ == 3 * ROWS
    assert not np.array_equal(parameters[0], model.coefs_[0])
    _fit_recording(model.set_params(solver="lbfgs", warm_start=False), X, y)
    assert not hasattr(model, "loss_curve_")  # a fresh lbfgs fit keeps no stochastic state


def test_sparse_float32_and_pickled_lbfgs_models():
    X, y = problem("multilabel")
    dense = MLPClassifier(**LBFGS).fit(X, y)
    csr = MLPClassifier(**LBFGS).fit(sparse.csr_matrix(X), y)
    assert max_difference(dense, csr) == 0.0
    single = MLPRegressor(**{**LBFGS, "max_iter": 10})
    _fit_recording(single, X.astype(np.float32), y[:, 0])
    double = MLPRegressor(**{**LBFGS, "max_iter": 10})
    _fit_recording(double, X, y[:, 0])
    assert single.coefs_[0].dtype == np.float32  # optimized in float64, stored in float32
    assert _relative_difference(single, double) < 1e-5  # inputs rounded to float32
    again = pickle.loads(pickle.dumps(dense))
    np.testing.assert_array_equal(again.predict_proba(X), dense.predict_proba(X))


@pytest.mark.parametrize("given", [dict(dropout=0.2), dict(callbacks=[print]),
                                   dict(validation_data=problem("binary"))],
                         ids=["dropout", "callbacks", "validation_data"])
def test_lbfgs_refuses_deltaprops_per_epoch_parameters(given):
    with pytest.raises(ValueError, match=f"{next(iter(given))} cannot be used with solver='lbfgs'"):
        MLPClassifier(solver="lbfgs", **given).fit(*problem("binary"))


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_is_absent_for_lbfgs(cls):
    model = cls(solver="lbfgs")
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as raised:
        model.partial_fit  # noqa: B018
    assert "only available for stochastic optimizers" in str(raised.value.__cause__)
    assert hasattr(model.set_params(solver="sgd"), "partial_fit")
    assert hasattr(cls(), "partial_fit")  # adam


def _set_by_hand(model) -> None:
    """scikit-learn's test_fit: coefs_ and intercepts_ set on an unfitted estimator, item by item."""
    model.coefs_, model.intercepts_ = [0] * 2, [0] * 2
    model.coefs_[0] = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]])
    model.coefs_[1] = np.array([[0.1], [0.2]])
    model.intercepts_[0] = np.array([0.1, 0.1])
    model.intercepts_[1] = np.array([1.0])


def test_coefs_and_intercepts_set_before_fit_are_trained_on_as_scikit_learn_does():
    X, y = np.array([[0.6, 0.8, 0.7], [0.1, 0.2, 0.9]]), np.array([0, 1])
    params = dict(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
                  hidden_layer_sizes=2, momentum=0, random_state=1)
    theirs, ours = neural_network.MLPClassifier(**params), MLPClassifier(**params)
    for model in (theirs, ours):
        _set_by_hand(model)
        model.n_layers_, model.out_activation_, model.n_iter_, model.t_ = 3, "logistic", 0, 0
        model.best_loss_, model.loss_curve_, model._no_improvement_count = np.inf, [], 0
    ours_alone = MLPClassifier(**params)
    _set_by_hand(ours_alone)  # deltaprop needs none of scikit-learn's private state
    for model in (theirs, ours, ours_alone):
        for _ in range(3):
            model.partial_fit(X, y, classes=[0, 1])
    assert max_difference(theirs, ours) < 1e-15 and max_difference(ours, ours_alone) == 0.0
    assert ours.coefs_[0].shape == (3, 2)
    assert (ours.n_iter_, ours.t_, ours.loss_curve_) == (theirs.n_iter_, theirs.t_, theirs.loss_curve_)


def test_coefs_set_before_fit_must_fit_the_data():
    model = MLPRegressor(hidden_layer_sizes=3, warm_start=True)
    model.coefs_, model.intercepts_ = [np.zeros((2, 3)), np.zeros((3, 1))], [np.zeros(3)]
    assert model.coefs_[0].shape == (2, 3)  # kept as given until a fit
    with pytest.raises(ValueError, match=r"must have shapes \[\(2, 3\), \(3, 1\)\] and \[\(3,\), \(1,\)\]"):
        model.fit(np.ones((4, 2)), np.ones(4))
    model.intercepts_ = [np.zeros(3), np.full(1, 5.0)]
    model.fit(np.ones((4, 2)), np.ones(4))  # warm start: trains on from them
    assert model.n_iter_ == len(model.loss_curve_) > 0


def test_an_item_of_coefs_or_intercepts_assigned_after_fit_goes_into_the_network():
    X, y = problem("regression")
    model = MLPRegressor(**{**LBFGS, "max_iter": 3})
    _fit_recording(model, X, y)
    model.coefs_[1] = np.full((8, 5), 0.5)
    model.intercepts_[-1] = np.array([2.0])
    assert np.all(model.network_.weights[1] == 0.5) and model.network_.biases[-1][0] == 2.0
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape \(6, 8\), got \(8, 6\)"):
        model.coefs_[0] = np.zeros((8, 6))
    with pytest.raises(TypeError, match="takes one index"):
        model.coefs_[0:1] = [np.zeros((6, 8))]
