"""The estimators inside scikit-learn's machinery: Pipeline, GridSearchCV (2 processes),
cross_val_score, clone, joblib.dump/load and set_output."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn_support import problem

from deltaprop.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(hidden_layer_sizes=(8,), max_iter=20, learning_rate_init=0.02, random_state=0)


def test_pipeline():
    X, y = problem("multiclass")
    pipe = make_pipeline(StandardScaler(), MLPClassifier(**SMALL)).fit(X, y)
    scaled = StandardScaler().fit_transform(X)
    alone = MLPClassifier(**SMALL).fit(scaled, y)
    np.testing.assert_allclose(pipe.predict_proba(X), alone.predict_proba(scaled))
    assert pipe.score(X, y) == alone.score(scaled, y)


def test_grid_search_in_two_processes():
    X, y = problem("regression")
    search = GridSearchCV(MLPRegressor(**SMALL), {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (8,)]},
                          cv=2, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert isinstance(search.best_estimator_, MLPRegressor) and search.best_estimator_.n_iter_ == 20
    serial = GridSearchCV(MLPRegressor(**SMALL), {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (8,)]},
                          cv=2, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])


def test_cross_val_score():
    X, y = problem("binary")
    scores = cross_val_score(MLPClassifier(**SMALL), X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_clone_keeps_parameters_and_drops_the_fit():
    X, y = problem("binary")
    fitted = MLPClassifier(dropout=0.1, l1=0.01, **SMALL).fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "network_") and not hasattr(copy, "coefs_")
    np.testing.assert_array_equal(copy.fit(X, y).predict_proba(X), fitted.predict_proba(X))


def test_joblib_dump_and_load(tmp_path):
    X, y = problem("multioutput")
    model = MLPRegressor(**SMALL).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_set_output():
    X, y = problem("multiclass")
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(**SMALL))])
    assert pipe.set_output(transform="default") is pipe
    reference = make_pipeline(StandardScaler(), MLPClassifier(**SMALL)).fit(X, y)
    np.testing.assert_array_equal(pipe.fit(X, y).predict(X), reference.predict(X))


def test_set_output_pandas_passes_feature_names():
    pandas = pytest.importorskip("pandas")
    X, y = problem("multiclass")
    frame = pandas.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(**SMALL))])
    pipe.set_output(transform="pandas").fit(frame, y)
    assert list(pipe["mlp"].feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(pipe.predict(frame), pipe.fit(X, y).predict(X))
