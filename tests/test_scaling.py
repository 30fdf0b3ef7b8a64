"""deltaprop.scaling: the input scaling that is part of a model, against scikit-learn's scalers, and
applied once by every path that takes raw rows (predict, gradients, save/load, ONNX)."""

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import deltaprop
from deltaprop.errors import ModelFormatError, UnscaledInputWarning
from deltaprop.scaling import SCALINGS, Scaling, StandardScaling, fit_scaling

RNG = np.random.default_rng(3)
X = RNG.normal(50.0, 20.0, size=(80, 5))
X[:, 2] = 7.0  # a constant feature
y = (X[:, 0] + X[:, 1] > 100).astype(int)


@pytest.mark.parametrize(("kind", "reference"), [("standard", StandardScaler), ("minmax", MinMaxScaler)])
def test_scalings_equal_scikit_learns(kind, reference):
    scaling = fit_scaling(kind, X)
    expected = reference().fit_transform(X)
    np.testing.assert_allclose(scaling.apply(X), expected, rtol=1e-12, atol=1e-12)
    assert np.all(scaling.apply(X)[:, 2] == 0)  # constant: centered, not divided by zero


def test_none_is_no_scaling_and_unknown_names_are_refused():
    assert fit_scaling("none", X) is None
    with pytest.raises(ValueError, match="unknown scaling 'stanard'.*did you mean 'standard'"):
        fit_scaling("stanard", X)
    assert set(SCALINGS) == {"standard", "minmax"}


def test_a_scaling_needs_positive_scales_and_matching_features():
    with pytest.raises(ValueError, match="scale must be positive"):
        Scaling(np.zeros(3), np.array([1.0, 0.0, 1.0]))
    net = deltaprop.Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="has 5 features, but the network takes 4 inputs"):
        net.set_scaling(fit_scaling("standard", X))
    with pytest.raises(TypeError, match="scaling must be"):
        net.set_scaling("standard")


def _scaled_network(kind="standard", dtype="float64"):
    net = deltaprop.Network([5, 6, 2], seed=1, dtype=dtype)
    net.set_scaling(fit_scaling(kind, X, dtype))
    return net


def test_every_raw_row_path_scales_exactly_once():
    net = _scaled_network()
    plain = deltaprop.Network.from_parameters(net.weights, net.biases)  # the same network, unscaled
    a0 = net.scaling.apply(X)
    np.testing.assert_array_equal(net.input_activations(X), a0)
    np.testing.assert_array_equal(net.feedforward(X), plain.feedforward(a0))
    np.testing.assert_array_equal(net.predict(X), plain.predict(a0))
    assert net.accuracy(X, y) == plain.accuracy(a0, y)
    assert net.cost(X, y) == plain.cost(a0, y)
    for ours, theirs in zip(net.backprop(X, y), plain.backprop(a0, y), strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)


def test_fit_trains_on_scaled_rows_as_an_unscaled_network_trains_on_scaled_data():
    net = _scaled_network()
    plain = deltaprop.Network.from_parameters(net.weights, net.biases)
    deltaprop.fit(net, X, y, epochs=3, batch_size=8, seed=0, validation_data=(X, y))
    deltaprop.fit(plain, net.scaling.apply(X), y, epochs=3, batch_size=8, seed=0,
                  validation_data=(net.scaling.apply(X), y))
    for a, b in zip(net.weights + net.biases, plain.weights + plain.biases, strict=True):
        np.testing.assert_array_equal(a, b)


def test_raw_features_train_without_the_unscaled_warning_once_scaled(recwarn):
    net = _scaled_network()
    deltaprop.fit(net, X, y, epochs=1, seed=0)
    assert not [w for w in recwarn if issubclass(w.category, UnscaledInputWarning)]
    with pytest.warns(UnscaledInputWarning):
        deltaprop.fit(deltaprop.Network([5, 6, 2], seed=1), X, y, epochs=1, seed=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_the_scaling_is_saved_with_the_model(tmp_path, kind, dtype):
    net = _scaled_network(kind, dtype)
    path = tmp_path / "model.safetensors"
    deltaprop.save(net, path)
    loaded = deltaprop.load(path)
    assert type(loaded.scaling) is type(net.scaling) and loaded.scaling == net.scaling
    assert loaded.scaling.center.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.feedforward(X), net.feedforward(X))
    meta = deltaprop.io.read_metadata(path)
    assert meta["scaling"] == kind and meta["format_version"] == 2


def test_a_model_without_scaling_stays_format_version_1(tmp_path):
    path = tmp_path / "model.safetensors"
    deltaprop.save(deltaprop.Network([5, 2], seed=0), path)
    assert deltaprop.io.read_metadata(path)["format_version"] == 1
    assert deltaprop.load(path).scaling is None


def _rewritten(path, tmp_path, change):
    """The model file at ``path`` with its metadata and tensors changed by ``change(meta, tensors)``."""
    import json

    from safetensors.numpy import load_file, save_file

    from deltaprop.io import METADATA_KEY, read_metadata

    meta, tensors = read_metadata(path), load_file(str(path))
    change(meta, tensors)
    target = tmp_path / "tampered.safetensors"
    save_file(tensors, str(target), metadata={METADATA_KEY: json.dumps(meta)})
    return target


@pytest.mark.parametrize(("change", "message"), [
    (lambda meta, tensors: tensors["scaling.scale"].__setitem__(0, 0.0), "stored input scaling is invalid"),
    (lambda meta, tensors: tensors.pop("scaling.center"), "missing tensors"),
    (lambda meta, tensors: meta.__setitem__("scaling", "zscore"), "unknown scaling"),
    (lambda meta, tensors: meta.__setitem__("format_version", 1), "needs format_version 2"),
    (lambda meta, tensors: meta.pop("scaling"), "unexpected tensors"),
])
def test_a_tampered_scaling_is_one_clear_error(tmp_path, change, message):
    path = tmp_path / "model.safetensors"
    deltaprop.save(_scaled_network(), path)
    with pytest.raises(ModelFormatError, match=message):
        deltaprop.load(_rewritten(path, tmp_path, change))


def test_copy_keeps_the_scaling():
    net = _scaled_network()
    assert net.copy().scaling == net.scaling
    assert isinstance(net.copy().scaling, StandardScaling)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_onnx_export_takes_raw_features(dtype):
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    import deltaprop.onnx

    net = _scaled_network("minmax", dtype)
    session = onnxruntime.InferenceSession(deltaprop.onnx.to_onnx(net).SerializeToString())
    outputs = session.run(None, {"input": X.astype(dtype)})[0]
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(outputs, net.feedforward(X), rtol=tolerance, atol=tolerance)
