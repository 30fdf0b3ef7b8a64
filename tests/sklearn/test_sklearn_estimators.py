"""The estimators' API: scikit-learn's parameters and attributes, labels, probabilities, and
deltaprop's additions (cost, output_activation, dropout, l1, dtype, init, validation_data, ...)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn import neural_network
from sklearn_support import problem

from deltaprop import Network
from deltaprop.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

OURS = {"cost": None, "output_activation": None, "dropout": 0.0, "l1": 0.0, "dtype": None,
        "init": "glorot_uniform", "validation_data": None, "callbacks": None}


@pytest.mark.parametrize("ours, theirs", [(MLPClassifier, neural_network.MLPClassifier),
                                          (MLPRegressor, neural_network.MLPRegressor)])
def test_parameters_and_defaults_are_scikit_learns_plus_deltaprops(ours, theirs):
    expected = {**theirs().get_params(), **OURS}
    if ours is MLPClassifier:
        expected["class_weight"] = None
    assert ours().get_params() == expected
    positional = [p.name for p in inspect.signature(theirs).parameters.values()
                  if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in inspect.signature(ours).parameters.values()
            if p.kind == p.POSITIONAL_OR_KEYWORD] == positional


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_labels_of_any_type_and_probabilities_that_sum_to_one(task):
    X, y = problem(task)
    clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=30, learning_rate_init=0.02,
                        random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    predicted = clf.predict(X)
    assert predicted.dtype == y.dtype and set(predicted) <= set(y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[np.argmax(proba, axis=1)], predicted)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.score(X, y) > 0.6
    assert clf.out_activation_ == ("logistic" if task == "binary" else "softmax")


def test_multilabel_targets_get_independent_sigmoids():
    X, Y = problem("multilabel")
    clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=30, random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and clf.out_activation_ == "logistic"
    assert np.all((proba > 0) & (proba < 1)) and not np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))


@pytest.mark.parametrize("task, n_out, out", [("multiclass", 3, "softmax"), ("binary", 1, "logistic"),
                                              ("multioutput", 3, "identity"), ("poisson", 1, "exp")])
def test_fitted_attributes_have_scikit_learns_layout(task, n_out, out):
    X, y = problem(task)
    cls = MLPRegressor if task in ("multioutput", "poisson") else MLPClassifier
    extra = {"loss": "poisson"} if task == "poisson" else {}
    model = cls(hidden_layer_sizes=(8, 5), max_iter=4, random_state=0, **extra).fit(X, y)
    assert [c.shape for c in model.coefs_] == [(6, 8), (8, 5), (5, n_out)]
    assert [b.shape for b in model.intercepts_] == [(8,), (5,), (n_out,)]
    assert (model.n_layers_, model.n_outputs_, model.out_activation_) == (4, n_out, out)
    assert model.n_iter_ == len(model.loss_curve_) == 4 and model.t_ == 4 * len(X)
    assert model.loss_ == model.loss_curve_[-1] and model.best_loss_ <= model.loss_
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    assert model.n_features_in_ == 6
    assert isinstance(model.network_, Network) and model.network_.sizes == (6, 8, 5, n_out)
    model.network_.weights[0][0, 1] = 42.0  # coefs_ are views of the network's weights
    assert model.coefs_[0][1, 0] == 42.0
    model.coefs_[1][:] = 0.0
    assert not model.network_.weights[1].any()


def test_coefs_and_intercepts_can_be_assigned_but_keep_their_shapes():
    X, y = problem("regression")
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    model.coefs_ = [np.ones((6, 4)), np.full((4, 1), 2.0)]
    model.intercepts_ = [np.zeros(4), np.zeros(1)]
    np.testing.assert_allclose(model.predict(np.zeros((1, 6))), [0.0])
    np.testing.assert_allclose(model.predict(np.full((1, 6), 0.5)), [4 * 2 * 3.0])
    with pytest.raises(ValueError, match="shapes"):
        model.coefs_ = [np.ones((4, 6)), np.ones((4, 1))]
    with pytest.raises(AttributeError, match="not fitted"):
        MLPRegressor().coefs_  # noqa: B018


def test_dtype_follows_the_inputs_or_the_parameter():
    X, y = problem("multiclass")
    assert MLPClassifier(max_iter=2).fit(X, y).network_.dtype == np.float64
    single = MLPClassifier(max_iter=2).fit(X.astype(np.float32), y)
    assert single.network_.dtype == np.float32 and single.coefs_[0].dtype == np.float32
    forced = MLPClassifier(max_iter=2, dtype="float32").fit(X, y)
    assert forced.predict_proba(X).dtype == np.float32


def test_dropout_l1_init_cost_and_output_activation_are_deltaprops():
    X, y = problem("multiclass")
    base = dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.02, random_state=0)
    plain = MLPClassifier(**base).fit(X, y)
    dropped = MLPClassifier(dropout=0.3, **base).fit(X, y)
    assert not np.array_equal(plain.coefs_[0], dropped.coefs_[0]) and dropped.score(X, y) > 0.6
    sparse = MLPClassifier(l1=2.0, **base).fit(X, y)
    assert np.abs(sparse.coefs_[0]).sum() < np.abs(plain.coefs_[0]).sum()
    he = MLPClassifier(init="he", **base).fit(X, y)
    assert he.score(X, y) > 0.6
    quadratic = MLPClassifier(cost="quadratic", output_activation="sigmoid", **base).fit(X, y)
    assert quadratic.network_.cost_function.name == "quadratic"
    assert quadratic.out_activation_ == "logistic"
    np.testing.assert_allclose(quadratic.predict_proba(X).sum(axis=1), 1.0)  # normalized sigmoids


def test_validation_data_is_scored_every_epoch_and_drives_early_stopping():
    X, y = problem("multiclass")
    X_val, y_val = problem("multiclass", seed=1)
    monitored = MLPClassifier(max_iter=6, random_state=0, validation_data=(X_val, y_val)).fit(X, y)
    assert len(monitored.validation_scores_) == 6
    assert monitored.best_validation_score_ == max(monitored.validation_scores_)
    assert monitored.validation_scores_[-1] == monitored.score(X_val, y_val)
    stopped = MLPClassifier(max_iter=200, random_state=0, early_stopping=True, n_iter_no_change=2,
                            learning_rate_init=0.05, validation_data=(X_val, y_val)).fit(X, y)
    assert stopped.n_iter_ < 200 and len(stopped.validation_scores_) == stopped.n_iter_
    assert stopped.score(X_val, y_val) == stopped.best_validation_score_  # best parameters kept


def test_callbacks_see_every_epoch_and_may_stop_training():
    X, y = problem("regression")
    records = []
    model = MLPRegressor(max_iter=50, random_state=0, callbacks=[
        records.append, lambda record: record["epoch"] == 3]).fit(X, y)
    assert model.n_iter_ == 3 and [r["epoch"] for r in records] == [1, 2, 3]
    assert records[-1]["loss"] == model.loss_ and records[0]["learning_rate"] == 0.001
    assert set(records[0]) == {"epoch", "loss", "validation_score", "learning_rate", "seconds"}


def test_partial_fit_refusals_and_warm_start_shape_change():
    X, y = problem("multiclass")
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    model = MLPClassifier(max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="layer sizes"):
        model.set_params(hidden_layer_sizes=(5,)).fit(X, y)
    clf = MLPClassifier().partial_fit(X[:10], y[:10], None, np.unique(y))  # scikit-learn's order
    assert list(clf.classes_) == sorted(set(y))


def test_a_mini_batch_with_zero_weights_is_skipped():
    X, y = problem("regression")
    weights = np.ones(len(y))
    weights[:50] = 0.0
    model = MLPRegressor(solver="sgd", batch_size=50, shuffle=False, max_iter=3, random_state=0)
    model.fit(X, y, sample_weight=weights)
    assert all(np.isfinite(c).all() for c in model.coefs_) and np.isfinite(model.loss_)


def test_divergence_raises_scikit_learns_error():
    X, y = problem("regression")
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        MLPRegressor(solver="sgd", learning_rate_init=10.0, max_iter=20, random_state=0).fit(
            X * 1e3, y * 1e6)


def test_verbose_prints_scikit_learns_lines(capsys):
    X, y = problem("binary")
    MLPClassifier(max_iter=2, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Iteration 2, loss = ")


def test_sparse_inputs_are_densified():
    from scipy import sparse

    X, y = problem("binary")
    dense = MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    csr = MLPClassifier(max_iter=3, random_state=0).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(csr.predict_proba(sparse.csc_matrix(X)), dense.predict_proba(X))


def test_the_estimators_train_in_the_engines_loop(monkeypatch):
    """One epoch loop: the estimators drive deltaprop's Trainer with their own hooks."""
    from deltaprop.trainer import Trainer

    epochs = []
    run_epoch = Trainer.run_epoch
    monkeypatch.setattr(Trainer, "run_epoch",
                        lambda self, hooks: epochs.append(self.epoch) or run_epoch(self, hooks))
    X, y = problem("multiclass")
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    assert epochs == [0, 1, 2] and model.n_iter_ == 3


def test_ctrl_c_ends_training_with_scikit_learns_warning_and_a_usable_model():
    X, y = problem("regression")

    def interrupt(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    model = MLPRegressor(max_iter=50, random_state=0, callbacks=[interrupt])
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        model.fit(X, y)
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2 and model.predict(X).shape == y.shape
