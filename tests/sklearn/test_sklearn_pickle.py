"""Everything pickles: deltaprop's Network, every built-in activation and cost, and the estimators
(pickle, deepcopy and joblib give back the same predictions, and training goes on alike)."""

from __future__ import annotations

import copy
import io
import pickle

import joblib
import numpy as np
import pytest
from sklearn_support import problem

import deltaprop
from deltaprop import ACTIVATIONS, COSTS, Network
from deltaprop.sklearn import MLPClassifier, MLPRegressor
from deltaprop.sklearn._losses import Exp, PoissonCost

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _joblib_round_trip(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


ROUND_TRIPS = {"pickle": lambda obj: pickle.loads(pickle.dumps(obj)), "deepcopy": copy.deepcopy,
               "joblib": _joblib_round_trip}


@pytest.mark.parametrize("how", ROUND_TRIPS)
def test_network_round_trips(how):
    net = Network([4, 5, 3], activation="tanh", output_activation="softmax", cost="log_likelihood",
                  seed=1)
    X = np.random.RandomState(0).normal(size=(7, 4))
    deltaprop.fit(net, X, np.arange(7) % 3, epochs=2, batch_size=3)
    again = ROUND_TRIPS[how](net)
    assert again.sizes == net.sizes and again.activation_names == net.activation_names
    assert again.cost_function.name == net.cost_function.name and again.dtype == net.dtype
    np.testing.assert_array_equal(again.feedforward(X), net.feedforward(X))
    assert again.training_config == net.training_config


@pytest.mark.parametrize("name", sorted(ACTIVATIONS) + ["exp (deltaprop.sklearn)"])
def test_every_activation_pickles(name):
    activation = Exp() if name.startswith("exp") else ACTIVATIONS[name]
    again = pickle.loads(pickle.dumps(activation))
    assert type(again) is type(activation) and again.name == activation.name
    z = np.linspace(-3, 3, 12).reshape(4, 3)
    np.testing.assert_array_equal(again(z), activation(z))


@pytest.mark.parametrize("name", sorted(COSTS) + ["poisson (deltaprop.sklearn)"])
def test_every_cost_pickles(name):
    cost = PoissonCost() if name.startswith("poisson") else COSTS[name]
    again = pickle.loads(pickle.dumps(cost))
    assert type(again) is type(cost) and again.name == cost.name
    sigmoid = ACTIVATIONS["sigmoid"]
    z = np.linspace(-2, 2, 6).reshape(2, 3)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(again.value(z, sigmoid(z), y, sigmoid),
                                  cost.value(z, sigmoid(z), y, sigmoid))


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("task", ["multiclass", "poisson"])
def test_estimators_round_trip_and_train_on_alike(task, how):
    X, y = problem(task)
    if task == "poisson":
        model = MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), max_iter=5, random_state=0)
        more = {}
    else:
        model = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0, dropout=0.2)
        more = {"classes": np.unique(y)}
    unfitted = ROUND_TRIPS[how](model)
    assert unfitted.get_params() == model.get_params()
    model.fit(X, y)
    again = ROUND_TRIPS[how](model)
    method = "predict_proba" if task != "poisson" else "predict"
    np.testing.assert_array_equal(getattr(again, method)(X), getattr(model, method)(X))
    assert again.loss_curve_ == model.loss_curve_ and again.network_ is not model.network_
    for estimator in (model, again):  # the optimizer's state travels with the estimator
        estimator.partial_fit(X, y, **more)
    np.testing.assert_array_equal(getattr(again, method)(X), getattr(model, method)(X))
    np.testing.assert_array_equal(again.coefs_[0], again.network_.weights[0].T)
