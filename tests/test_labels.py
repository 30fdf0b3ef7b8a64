"""Any class labels: the network's classes, set by fit or given, returned by predict, saved."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop
from deltaprop import Network, fit
from deltaprop.io import read_metadata
from deltaprop.schema import validate_model_metadata


def two_blobs(labels, m=60, seed=0):
    rng = np.random.default_rng(seed)
    side = np.arange(m) % 2
    X = rng.normal(0.25 + 0.5 * side[:, None], 0.05, size=(m, 3))
    return X, np.asarray(labels)[side]


@pytest.mark.parametrize("labels", [[3, 7], ["cat", "dog"], [-1, 1], [0.0, 2.0]])
def test_fit_sets_classes_and_predict_returns_them(labels):
    X, y = two_blobs(labels)
    net = Network([3, 4, 2], seed=0)
    fit(net, X, y, epochs=20, batch_size=5)
    assert net.classes.tolist() == sorted(np.asarray(labels).tolist())
    predicted = net.predict(X)
    assert predicted.dtype.kind == np.asarray(net.classes).dtype.kind
    assert np.mean(predicted == y) == net.accuracy(X, y) > 0.9
    assert net.cost(X, y) == pytest.approx(net.cost(X, np.eye(2)[net.check_labels(y)]))
    nabla_b, _ = net.backprop(X, y)
    assert np.allclose(nabla_b[-1], net.backprop(X, np.eye(2)[net.check_labels(y)])[0][-1])


def test_index_labels_leave_the_network_without_classes():
    X, y = two_blobs([0, 1])
    net = Network([3, 4, 2], seed=0)
    fit(net, X, y, epochs=2)
    assert net.classes is None and net.predict(X).dtype == np.int64


def test_classes_given_at_construction_fix_the_units():
    X, y = two_blobs(["yes", "no"])
    net = Network([3, 4, 2], seed=0, classes=["yes", "no"])  # unit 0 is "yes": the order given
    fit(net, X, y, epochs=20, batch_size=5)
    assert net.classes.tolist() == ["yes", "no"]
    assert np.argmax(net.feedforward(X[:1]), axis=1)[0] == 0  # row 0 is a "yes"
    with pytest.raises(ValueError, match=r"y\[0\] = 'maybe' is not one of the classes 'yes', 'no'"):
        net.accuracy(X[:2], ["maybe", "yes"])
    with pytest.raises(ValueError, match=r"training y\[0\] = 0 is not one of the classes"):
        fit(net, X[:2], [0, 1], epochs=1)  # indices are not labels once the network has classes


def test_more_labels_than_units_is_refused_naming_both():
    X, _ = two_blobs([0, 1])
    y = np.array(["a", "b", "c"] * 20)
    with pytest.raises(ValueError, match=r"training y\[0\] = 'a'; expected class labels in \[0, 1\] "
                                         r".*2 distinct labels.*got 3: 'a', 'b', 'c'"):
        fit(Network([3, 2]), X, y, epochs=1)


@pytest.mark.parametrize(("classes", "match"), [
    ([1, 2, 3], r"classes must name 2 classes, one per output unit, got 3"),
    (["a", "a"], r"classes must be distinct, got 'a', 'a'"),
    ([True, False], r"classes must hold class labels \(integers or strings\), got dtype bool"),
    ([0.5, 1], r"classes\[0\] = 0\.5 is not a whole number"),
])
def test_bad_classes_are_refused(classes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Network([3, 2], classes=classes)


def test_strings_without_classes_are_refused_where_fit_cannot_set_them():
    net = Network([3, 2])
    with pytest.raises(TypeError, match=r"y holds strings \('a', \.\.\.\) but the network has no "
                                        r"classes"):
        net.accuracy(np.zeros((1, 3)), ["a"])


@pytest.mark.parametrize("classes", [["cat", "dog", "émeu"], [-5, 3, 700]])
def test_classes_round_trip_through_the_model_file(tmp_path, classes):
    net = Network([3, 4, 3], seed=0, classes=classes)
    path = tmp_path / "m.safetensors"
    deltaprop.save(net, path)
    assert read_metadata(path)["classes"] == classes
    loaded = deltaprop.load(path)
    assert loaded.classes.tolist() == classes
    X = np.random.default_rng(0).uniform(size=(5, 3))
    assert np.array_equal(loaded.predict(X), net.predict(X))
    copied = net.copy()
    assert copied.classes is not net.classes and copied.classes.tolist() == classes


def test_a_network_without_classes_stores_none(tmp_path):
    path = tmp_path / "m.safetensors"
    deltaprop.save(Network([3, 2]), path)
    assert "classes" not in read_metadata(path) and deltaprop.load(path).classes is None


def base_meta(**fields):
    return {"format_version": 1, "sizes": [3, 2], "activations": ["sigmoid"],
            "cost": "cross_entropy", "dtype": "float64", "training": {},
            "deltaprop_version": "0", **fields}


@pytest.mark.parametrize(("classes", "match"), [
    ([1, 2, 3], r"'classes' must list 2 distinct labels of one type"),
    ([1, 1], r"'classes' must list 2 distinct labels"),
    ([1, "a"], r"of one type"),
    ([True, False], r"classes"),
    (["x" * 257, "y"], r"classes"),
])
def test_the_schema_checks_classes_against_sizes(classes, match):
    with pytest.raises(ValueError, match=match):
        validate_model_metadata(base_meta(classes=classes))
    assert validate_model_metadata(base_meta(classes=["a", "b"])).classes == ["a", "b"]


def test_the_schema_declares_the_data_folder():
    assert validate_model_metadata(base_meta(data_dir="/data/mnist")).data_dir == "/data/mnist"
    with pytest.raises(ValueError, match="data_dir"):
        validate_model_metadata(base_meta(data_dir=3))
