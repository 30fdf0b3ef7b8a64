"""class_weight="balanced": scikit-learn's class weights as per-row sample weights, multiplied into any
given, from fit and from ``deltaprop train --class-weight balanced``, stored with the run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

import deltaprop
from deltaprop import Network, fit
from deltaprop.options import BY_NAME, TrainingConfig
from deltaprop.training_data import TrainingData, balanced_weights


def _imbalanced(rows: int = 90):
    """Rows of three classes in proportions 6 : 2 : 1 (labels 'a', 'b', 'c'), 4 features."""
    rng = np.random.default_rng(3)
    labels = np.array(["a"] * (rows * 6 // 9) + ["b"] * (rows * 2 // 9) + ["c"] * (rows // 9))
    X = rng.normal(size=(labels.size, 4)) + (labels == "b")[:, None] - (labels == "c")[:, None]
    return X, labels


@pytest.mark.parametrize("labels", [[0, 0, 0, 1, 2, 2], [3, 1, 1, 1, 1, 1, 1, 3, 0], [2, 2, 5, 5, 5]])
def test_balanced_weights_are_scikit_learns(labels):
    labels = np.array(labels)
    classes = np.unique(labels)
    per_class = dict(zip(classes, compute_class_weight("balanced", classes=classes, y=labels), strict=True))
    np.testing.assert_allclose(balanced_weights(labels), [per_class[c] for c in labels], rtol=1e-15)
    assert balanced_weights(labels).mean() == pytest.approx(1.0)


def test_the_option_is_in_the_table_and_checked():
    option = BY_NAME["class_weight"]
    assert option.default is None and option.cli_flag == "--class-weight"
    assert TrainingConfig(class_weight="balanced").as_dict()["class_weight"] == "balanced"
    with pytest.raises(ValueError, match=r"class_weight must be one of \['balanced'\], got 'even'"):
        TrainingConfig(class_weight="even")


def test_they_multiply_into_the_sample_weights():
    X, labels = _imbalanced()
    net = Network([4, 3], seed=0)
    net.classes = np.array(["a", "b", "c"])
    sample_weight = np.linspace(0.5, 2.0, labels.size)
    data = TrainingData(net, X, labels, sample_weight, "training", "balanced")
    classes = np.unique(labels)
    per_class = dict(zip(classes, compute_class_weight("balanced", classes=classes, y=labels), strict=True))
    expected = sample_weight * np.array([per_class[c] for c in labels])
    np.testing.assert_allclose(data.weights, expected, rtol=1e-15)
    assert data.weights.dtype == net.dtype
    np.testing.assert_array_equal(sample_weight, np.linspace(0.5, 2.0, labels.size))  # not modified


def test_fit_with_balanced_weights_equals_fit_with_those_sample_weights():
    X, labels = _imbalanced()
    classes = np.unique(labels)
    per_class = dict(zip(classes, compute_class_weight("balanced", classes=classes, y=labels), strict=True))
    options = dict(epochs=3, batch_size=7, eta=0.5, seed=4)
    balanced, weighted, plain = (Network([4, 5, 3], seed=2) for _ in range(3))
    fit(balanced, X, labels, class_weight="balanced", **options)
    fit(weighted, X, labels, np.array([per_class[c] for c in labels]), **options)
    fit(plain, X, labels, **options)
    for got, want, unweighted in zip(balanced.weights, weighted.weights, plain.weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        assert not np.allclose(got, unweighted)
    assert balanced.training_config["class_weight"] == "balanced"


def test_balanced_weights_raise_the_recall_of_the_rare_class():
    X, labels = _imbalanced(270)
    recalls = {}
    for class_weight in (None, "balanced"):
        net = Network([4, 3], cost="cross_entropy", seed=0)
        fit(net, X, labels, epochs=20, batch_size=10, eta=0.5, seed=0, class_weight=class_weight)
        recalls[class_weight] = np.mean(net.predict(X[labels == "c"]) == "c")
    assert recalls["balanced"] > recalls[None] + 0.2


def test_targets_that_are_not_classes_are_refused():
    with pytest.raises(ValueError, match=r"class_weight='balanced' needs class labels: training y"):
        fit(Network([2, 2]), np.ones((3, 2)), np.full((3, 2), 0.3), epochs=1, class_weight="balanced")


def test_the_command_line_trains_with_balanced_weights_and_stores_them(tmp_path, capsys):
    from deltaprop.cli import main

    X, labels = _imbalanced()
    path = tmp_path / "rows.npz"
    np.savez(path, X=X, y=np.unique(labels, return_inverse=True)[1])
    out = tmp_path / "run"
    status = main(["train", "--data", str(path), "--class-weight", "balanced", "--epochs", "2",
                   "--out", str(out), "--quiet", "--no-plots", "--json"])
    assert status == 0, capsys.readouterr().err
    assert deltaprop.load(out / "model.safetensors").training_config["class_weight"] == "balanced"
    assert json.loads((out / "config.json").read_text())["training"]["class_weight"] == "balanced"
    assert main(["train", "--class-weight", "even", "--out", str(tmp_path / "other")]) == 2
    assert "--class-weight: invalid choice: 'even'" in capsys.readouterr().err
