"""Network: construction, initialization, float32, from_parameters, and errors on bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit

from deltaprop import ACTIVATIONS, Activation, Network, fit, reference, register_activation

# -- helpers ---------------------------------------------------------------------------------------


def small_problem(n_in=3, n_out=2, m=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n_in)), rng.integers(0, n_out, m)


def finite_difference_gradient(net: Network, X, Y, h=1e-6):
    """Central differences of net.cost with respect to every weight and bias."""
    nabla_b = [np.zeros_like(b) for b in net.biases]
    nabla_w = [np.zeros_like(w) for w in net.weights]
    for params, grads in ((net.biases, nabla_b), (net.weights, nabla_w)):
        for p, g in zip(params, grads, strict=True):
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                plus = net.cost(X, Y)
                p[idx] = old - h
                minus = net.cost(X, Y)
                p[idx] = old
                g[idx] = (plus - minus) / (2 * h)
    return nabla_b, nabla_w


def params_equal(a: Network, b: Network) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.weights + a.biases, b.weights + b.biases,
                                                    strict=True))


# -- construction ----------------------------------------------------------------------------------


def test_shapes_and_counts():
    net = Network([4, 7, 3, 2], seed=0)
    assert net.sizes == (4, 7, 3, 2)
    assert net.num_layers == 3
    assert [w.shape for w in net.weights] == [(7, 4), (3, 7), (2, 3)]
    assert [b.shape for b in net.biases] == [(7,), (3,), (2,)]
    assert net.num_parameters == 7 * 4 + 7 + 3 * 7 + 3 + 2 * 3 + 2
    assert net.layer_shapes() == [(4, 7), (7, 3), (3, 2)]
    assert net.activation_names == ["sigmoid"] * 3
    assert net.cost_function.name == "cross_entropy"  # the documented default, as the CLI's
    assert all(w.dtype == np.float64 for w in net.weights + net.biases)


def test_sizes_may_be_a_tuple_of_numpy_ints():
    net = Network((np.int64(3), np.int32(4), 2), seed=0)
    assert net.sizes == (3, 4, 2)
    assert all(type(s) is int for s in net.sizes)


def test_activation_list_one_per_layer():
    net = Network([3, 4, 5, 2], activation=["relu", "tanh", "softmax"], cost="log_likelihood")
    assert net.activation_names == ["relu", "tanh", "softmax"]
    X, y = small_problem(3, 2)
    out = net.feedforward(X)
    assert np.allclose(out.sum(axis=1), 1.0)


@pytest.mark.parametrize("n_given", [1, 2, 4])
def test_activation_list_of_wrong_length(n_given):
    with pytest.raises(ValueError, match=rf"activation must be .*list of 3 .*got a list of {n_given}"):
        Network([3, 4, 5, 2], activation=["relu"] * n_given)


def test_output_activation_overrides_the_last():
    net = Network([3, 4, 2], activation="relu", output_activation="softmax",
                  cost="log_likelihood")
    assert net.activation_names == ["relu", "softmax"]
    net = Network([3, 4, 2], activation=["tanh", "sigmoid"], output_activation="linear",
                  cost="quadratic")
    assert net.activation_names == ["tanh", "linear"]


def test_feedforward_is_the_composition_of_layers():
    net = Network([3, 4, 2], activation=["tanh", "sigmoid"], seed=3)
    X, _ = small_problem(3, 2, m=5)
    expected = expit(np.tanh(X @ net.weights[0].T + net.biases[0]) @ net.weights[1].T
                     + net.biases[1])
    assert np.allclose(net.feedforward(X), expected, rtol=1e-14, atol=0)
    space = net.forward(net.check_X(X))
    zs, activations = space.zs, space.activations
    assert len(zs) == 2 and len(activations) == 3
    assert np.array_equal(activations[0], X)
    assert np.allclose(activations[-1], expected, rtol=1e-14, atol=0)
    assert np.array_equal(net.predict(X), np.argmax(expected, axis=1))


def test_single_example_as_a_vector_is_one_row():
    net = Network([3, 4, 2], seed=0)
    x = np.array([0.1, -0.2, 0.3])
    assert net.feedforward(x).shape == (1, 2)
    assert np.allclose(net.feedforward(x), net.feedforward(x[None, :]))


def test_cost_dash_alias_and_objects():
    net = Network([2, 3, 2], cost="cross-entropy")
    assert net.cost_function.name == "cross_entropy"
    assert Network([2, 3, 2], cost=net.cost_function).cost_function is net.cost_function


def test_cost_adds_the_l2_term():
    net = Network([3, 4, 2], seed=1)
    X, y = small_problem()
    base = net.cost(X, y)
    squares = sum(float(np.sum(w * w)) for w in net.weights)
    assert net.cost(X, y, lmbda=2.0, n=50) == pytest.approx(base + 2.0 / 100 * squares, rel=1e-14)
    assert net.cost(X, y, lmbda=2.0) == pytest.approx(base + 2.0 / (2 * 20) * squares, rel=1e-14)


def test_backprop_is_the_mean_of_per_example_gradients():
    net = Network([3, 5, 2], activation=["relu", "softmax"], cost="log_likelihood", seed=2)
    X, y = small_problem(3, 2, m=6)
    nabla_b, nabla_w = net.backprop(X, y)
    per_row = [net.backprop(X[i:i + 1], y[i:i + 1]) for i in range(6)]
    for layer in range(2):
        assert np.allclose(nabla_b[layer], np.mean([g[0][layer] for g in per_row], axis=0),
                           rtol=1e-13, atol=1e-15)
        assert np.allclose(nabla_w[layer], np.mean([g[1][layer] for g in per_row], axis=0),
                           rtol=1e-13, atol=1e-15)


def test_accuracy_counts_correct_labels():
    net = Network([3, 4, 3], seed=0)
    X, _ = small_problem(3, 3, m=30)
    predicted = net.predict(X)
    wrong = (predicted + 1) % 3
    labels = predicted.copy()
    labels[:10] = wrong[:10]
    assert net.accuracy(X, labels) == pytest.approx(20 / 30)
    assert net.accuracy(X, np.eye(3)[labels]) == pytest.approx(20 / 30)


# -- custom activations ----------------------------------------------------------------------------


@pytest.fixture
def softplus_activation():
    name = "test_network_softplus"
    act = register_activation(Activation(
        name,
        lambda z: np.logaddexp(z.dtype.type(0), z),
        lambda z, a: expit(z),
    ))
    yield act
    ACTIVATIONS.pop(name, None)


def test_custom_activation_by_name(softplus_activation):
    name = softplus_activation.name
    net = Network([3, 5, 4, 2], activation=[name, "tanh", "sigmoid"], cost="cross_entropy",
                  seed=4)
    assert net.activations[0] is softplus_activation
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(7, 3)), rng.uniform(size=(7, 2))
    hidden = np.logaddexp(0.0, X @ net.weights[0].T + net.biases[0])
    zs = net.forward(net.check_X(X)).zs
    assert np.allclose(zs[1], hidden @ net.weights[1].T + net.biases[1], rtol=1e-14, atol=1e-15)

    nabla_b, nabla_w = net.backprop(X, Y)
    ref_b, ref_w = reference.gradient(net, X, Y)
    fd_b, fd_w = finite_difference_gradient(net, X, Y)
    for ours, ref, fd in zip(nabla_b + nabla_w, ref_b + ref_w, fd_b + fd_w, strict=True):
        assert np.allclose(ours, ref, rtol=1e-12, atol=1e-14)
        assert np.allclose(ours, fd, rtol=1e-6, atol=1e-8)
    # the output layer, too
    out = Network([3, 4], output_activation=name, cost="quadratic", seed=0)
    assert out.activation_names == [name]
    X1, Y1 = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    fd_b, fd_w = finite_difference_gradient(out, X1, Y1)
    nabla_b, nabla_w = out.backprop(X1, Y1)
    assert np.allclose(nabla_w[0], fd_w[0], rtol=1e-6, atol=1e-8)
    assert np.allclose(nabla_b[0], fd_b[0], rtol=1e-6, atol=1e-8)


def test_activation_object_need_not_be_registered():
    act = Activation("test_network_cube", lambda z: z**3, lambda z, a: 3 * z**2)
    net = Network([2, 3, 1], activation=[act, "linear"], cost="quadratic", seed=0)
    assert "test_network_cube" not in ACTIVATIONS
    X, Y = np.array([[0.3, -0.4], [0.2, 0.1]]), np.array([[0.5], [-0.1]])
    fd_b, fd_w = finite_difference_gradient(net, X, Y)
    nabla_b, nabla_w = net.backprop(X, Y)
    for ours, fd in zip(nabla_b + nabla_w, fd_b + fd_w, strict=True):
        assert np.allclose(ours, fd, rtol=1e-6, atol=1e-8)


# -- initialization --------------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["default", "large", "xavier", "he"])
def test_same_seed_same_parameters(init):
    a = Network([5, 6, 3], init=init, seed=42)
    b = Network([5, 6, 3], init=init, seed=42)
    assert params_equal(a, b)
    c = Network([5, 6, 3], init=init, seed=43)
    assert not any(np.array_equal(x, y) for x, y in zip(a.weights, c.weights, strict=True))


def test_unseeded_networks_differ():
    a, b = Network([5, 6, 3]), Network([5, 6, 3])
    assert not np.array_equal(a.weights[0], b.weights[0])


N_IN, N_OUT = 400, 1000  # asymmetric, so that n_in and n_out cannot be confused


@pytest.mark.parametrize(
    ("init", "weight_std", "bias_std"),
    [
        ("default", 1 / np.sqrt(N_IN), 1.0),
        ("large", 1.0, 1.0),
        ("xavier", np.sqrt(2 / (N_IN + N_OUT)), 0.0),
        ("he", np.sqrt(2 / N_IN), 0.0),
    ],
)
def test_initial_spread(init, weight_std, bias_std):
    net = Network([N_IN, N_OUT], init=init, seed=0)
    w, b = net.weights[0], net.biases[0]
    assert w.std() == pytest.approx(weight_std, rel=0.10)
    assert abs(w.mean()) < 0.05 * weight_std
    if bias_std == 0.0:
        assert np.all(b == 0)
    else:
        assert b.std() == pytest.approx(bias_std, rel=0.10)
    assert net.init == init


# -- float32 end to end ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"lmbda": 1.0}, {"l1": 0.5}, {"momentum": 0.9}, {"dropout": 0.3}],
    ids=["plain", "l2", "l1", "momentum", "dropout"],
)
def test_float32_end_to_end(options):
    net = Network([3, 6, 5, 2], activation=["relu", "tanh", "softmax"], cost="log_likelihood",
                  seed=0, dtype="float32")
    assert net.dtype == np.float32
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)
    X, y = small_problem(3, 2, m=40)  # float64 data
    assert net.feedforward(X).dtype == np.float32
    nabla_b, nabla_w = net.backprop(X, y)
    assert all(g.dtype == np.float32 for g in nabla_b + nabla_w)
    before = [p.copy() for p in net.weights + net.biases]
    history = fit(net, X, y, epochs=1, batch_size=10, eta=0.5, seed=0, **options)
    assert len(history) == 1
    after = net.weights + net.biases
    assert all(p.dtype == np.float32 for p in after)
    assert all(np.all(np.isfinite(p)) for p in after)
    assert any(not np.array_equal(p, q) for p, q in zip(before, after, strict=True))
    assert net.feedforward(X).dtype == np.float32


def test_float64_network_upcasts_float32_input():
    net = Network([3, 4, 2], seed=0)
    X = np.ones((2, 3), dtype=np.float32)
    assert net.feedforward(X).dtype == np.float64
    assert all(g.dtype == np.float64 for g in sum(net.backprop(X, [0, 1]), []))


def test_fit_keyword_api_trains():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([2, 8, 2], activation=["tanh", "softmax"], cost="log_likelihood", seed=1)
    start = net.cost(X, y)
    history = fit(net, X, y, epochs=5, batch_size=10, eta=0.5, seed=0)
    assert len(history) == 5
    assert net.cost(X, y) < start
    assert net.accuracy(X, y) > 0.9
    assert net.training_config["batch_size"] == 10 and net.training_config["eta"] == 0.5


# -- from_parameters -------------------------------------------------------------------------------


def test_from_parameters_round_trip():
    net = Network([4, 6, 3], activation=["relu", "softmax"], cost="log_likelihood", seed=5)
    copy = Network.from_parameters(
        [w.copy() for w in net.weights], [b.copy() for b in net.biases],
        activation=net.activation_names, cost="log_likelihood",
    )
    assert copy.sizes == net.sizes
    assert copy.activation_names == net.activation_names
    assert copy.cost_function.name == "log_likelihood"
    assert copy.init == "given"
    assert params_equal(copy, net)
    X, y = small_problem(4, 3)
    assert np.array_equal(copy.feedforward(X), net.feedforward(X))
    for a, b in zip(sum(copy.backprop(X, y), []), sum(net.backprop(X, y), []), strict=True):
        assert np.array_equal(a, b)


def test_from_parameters_converts_lists_and_dtype():
    net = Network.from_parameters([[[1, 2], [3, 4], [5, 6]]], [[0.5, 0.0, -0.5]],
                                  activation=["linear"], cost="quadratic", dtype="float32")
    assert net.sizes == (2, 3)
    assert net.weights[0].dtype == np.float32 and net.biases[0].dtype == np.float32
    assert np.array_equal(net.feedforward([[1.0, 1.0]]), [[3.5, 7.0, 10.5]])


def test_from_parameters_output_activation_and_cost():
    net = Network.from_parameters([np.ones((2, 3))], [np.zeros(2)], activation="relu",
                                  output_activation="softmax", cost="cross_entropy")
    assert net.activation_names == ["softmax"]


@pytest.mark.parametrize(
    ("weights", "biases", "match"),
    [
        ([np.ones((4, 3)), np.ones((2, 5))], [np.ones(4), np.ones(2)],
         r"weights\[1\] must have shape \(2, 4\), got shape \(2, 5\)"),
        ([np.ones((4, 3)), np.ones((2, 4))], [np.ones(4), np.ones(3)],
         r"biases\[1\] must have shape \(2,\), got shape \(3,\)"),
        ([np.ones((4, 3))], [np.ones((4, 1))],
         r"biases\[0\] must have shape \(4,\), got shape \(4, 1\)"),
        ([np.ones((4, 3)), np.ones((2, 4))], [np.ones(4)],
         r"weights and biases .* equal length, got 2 weights and 1 biases"),
        ([], [], r"weights and biases must be two non-empty lists.*got 0 weights and 0 biases"),
        ([np.ones(3)], [np.ones(1)], r"weights\[0\] must be a non-empty 2-D array, got shape \(3,\)"),
        ([np.ones((0, 3))], [np.ones(0)], r"weights\[0\] must be a non-empty 2-D array"),
        ([np.full((2, 2), np.nan)], [np.ones(2)], r"weights\[0\] contains NaN or infinite"),
        ([np.ones((2, 2))], [np.array([1.0, np.inf])], r"biases\[0\] contains NaN or infinite"),
    ],
    ids=["w-chain", "b-length", "b-2d", "count", "empty", "w-1d", "w-0-rows", "w-nan", "b-inf"],
)
def test_from_parameters_shape_errors(weights, biases, match):
    with pytest.raises(ValueError, match=match):
        Network.from_parameters(weights, biases)


def test_from_parameters_non_numeric():
    with pytest.raises(TypeError, match=r"weights\[0\] must hold real numbers, got dtype"):
        Network.from_parameters([np.array([["a", "b"]])], [np.ones(1)])


# -- bad input: every error names the argument, what was expected and what was given ---------------


@pytest.fixture
def net():
    return Network([3, 4, 2], seed=0)


@pytest.fixture
def data():
    return small_problem(3, 2, m=20)


def test_X_with_wrong_number_of_columns(net, data):
    _, y = data
    X = np.ones((20, 4))
    pattern = r"X must have shape \(m, 3\) .*got shape \(20, 4\)"
    for call in (net.feedforward, net.predict):
        with pytest.raises(ValueError, match=pattern):
            call(X)
    with pytest.raises(ValueError, match=pattern):
        net.backprop(X, y)
    with pytest.raises(ValueError, match=pattern):
        net.cost(X, y)
    with pytest.raises(ValueError, match=r"training X must have shape \(m, 3\) .*\(20, 4\)"):
        fit(net, X, y, epochs=1, batch_size=10, eta=0.5)
    with pytest.raises(ValueError, match=r"X must have shape \(m, 3\) .*got shape \(2, 3, 1\)"):
        net.feedforward(np.ones((2, 3, 1)))


def test_Y_with_wrong_number_of_columns(net, data):
    X, _ = data
    Y = np.zeros((20, 3))
    with pytest.raises(ValueError, match=r"Y must have shape \(m, 2\) .*got shape \(20, 3\)"):
        net.backprop(X, Y)
    with pytest.raises(ValueError, match=r"Y must have shape \(m, 2\) .*got shape \(20, 3\)"):
        net.cost(X, Y)
    with pytest.raises(ValueError, match=r"training y must have shape \(m, 2\) .*\(20, 3\)"):
        fit(net, X, Y, epochs=1, batch_size=10, eta=0.5)


@pytest.mark.parametrize(("bad", "low", "high"), [(-1, -1, 1), (2, 0, 2), (7, 0, 7)])
def test_label_out_of_range(net, data, bad, low, high):
    X, y = data
    y = y.copy()
    y[3] = bad
    y[0], y[1] = 0, 1
    pattern = rf"Y\[3\] = {bad}; expected class labels in \[0, 1\]"
    with pytest.raises(ValueError, match=pattern):
        net.backprop(X, y)
    with pytest.raises(ValueError, match=pattern):
        net.cost(X, y)
    with pytest.raises(ValueError, match=r"training y\[3\] = .*; expected class labels in \[0, 1\]"):
        fit(net, X, y, epochs=1, batch_size=10, eta=0.5)
    with pytest.raises(ValueError, match=r"y\[3\] = .*; expected class labels in \[0, 1\]"):
        net.accuracy(X, y)


def test_fractional_labels(net, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"Y\[\d+\] = \S+ is not a whole number"):
        net.backprop(X, np.full(20, 0.5))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_X(net, data, value):
    X, y = data
    X = X.copy()
    X[5, 1] = value
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values; expected finite"):
        net.feedforward(X)
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values"):
        net.backprop(X, y)
    with pytest.raises(ValueError, match=r"training X contains NaN or infinite values"):
        fit(net, X, y, epochs=1, batch_size=10, eta=0.5)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_Y(net, data, value):
    X, y = data
    Y = np.eye(2)[y]
    Y[2, 0] = value
    with pytest.raises(ValueError, match=r"Y contains NaN or infinite values; expected finite"):
        net.backprop(X, Y)
    with pytest.raises(ValueError, match=r"Y contains NaN or infinite values"):
        net.cost(X, Y)
    with pytest.raises(ValueError, match=r"training y contains NaN or infinite values"):
        fit(net, X, Y, epochs=1, batch_size=10, eta=0.5)
    labels = y.astype(float)
    labels[2] = value
    with pytest.raises(ValueError, match=r"Y\[\d+\] = \S+ is not a whole number"):
        net.backprop(X, labels)


def test_empty_X(net):
    empty = np.empty((0, 3))
    with pytest.raises(ValueError, match=r"X is empty: expected at least one row of 3 values"):
        net.feedforward(empty)
    with pytest.raises(ValueError, match=r"X is empty"):
        net.backprop(empty, np.empty((0, 2)))
    with pytest.raises(ValueError, match=r"training X is empty"):
        fit(net, empty, np.empty(0, dtype=int), epochs=1, batch_size=10, eta=0.5)
    with pytest.raises(ValueError, match=r"X must have shape \(m, 3\) .*got shape \(0,\)"):
        net.feedforward([])


def test_non_numeric_X(net):
    with pytest.raises(TypeError, match=r"X must hold numbers, got an array of dtype"):
        net.feedforward(np.array([["a", "b", "c"]]))
    with pytest.raises(TypeError, match=r"X must hold real numbers, got dtype complex"):
        net.feedforward(np.ones((1, 3), dtype=complex))


def test_unknown_names():
    with pytest.raises(ValueError, match=r"unknown activation 'sigmod'; expected one of \[.*'sigmoid'"):
        Network([3, 4, 2], activation="sigmod")
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; expected one of"):
        Network([3, 4, 2], activation=["relu", "swish"])
    with pytest.raises(ValueError, match=r"unknown activation 'softmx'"):
        Network([3, 4, 2], output_activation="softmx")
    with pytest.raises(ValueError, match=r"unknown cost 'hinge'; expected one of \[.*'quadratic'"):
        Network([3, 4, 2], cost="hinge")
    with pytest.raises(ValueError, match=r"unknown init 'glorot'; expected one of \[.*'xavier'"):
        Network([3, 4, 2], init="glorot")
    with pytest.raises(TypeError, match=r"activation must be a name or an Activation, got int"):
        Network([3, 4, 2], activation=[1, "sigmoid"])
    with pytest.raises(TypeError, match=r"cost must be a name or a Cost, got int"):
        Network([3, 4, 2], cost=3)


@pytest.mark.parametrize("layer", [1, 2])
def test_softmax_in_a_hidden_layer(layer):
    activation = ["relu", "relu", "softmax"]
    activation[layer - 1] = "softmax"
    with pytest.raises(ValueError,
                       match=rf"'softmax' .*only in the output layer, got it in hidden layer {layer}"):
        Network([3, 4, 4, 2], activation=activation, cost="log_likelihood")


@pytest.mark.parametrize("output", ["relu", "linear", "tanh", "leaky_relu"])
@pytest.mark.parametrize("cost", ["cross_entropy", "log_likelihood"])
def test_probability_costs_need_probability_outputs(cost, output):
    with pytest.raises(ValueError, match=rf"cost '{cost}' needs outputs in \(0, 1\).*"
                                         rf"got output activation '{output}'"):
        Network([3, 4, 2], activation="sigmoid", output_activation=output, cost=cost)


@pytest.mark.parametrize(("batch_size", "error"),
                         [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("10", TypeError),
                          (True, TypeError)])
def test_bad_batch_size(net, data, batch_size, error):
    X, y = data
    before = [p.copy() for p in net.weights + net.biases]
    with pytest.raises(error, match=rf"batch_size must be an integer >= 1, got {batch_size!r}"):
        fit(net, X, y, epochs=1, batch_size=batch_size, eta=0.5)
    assert all(np.array_equal(p, q) for p, q in zip(before, net.weights + net.biases, strict=True))


@pytest.mark.parametrize("eta", [0, 0.0, -0.5, np.nan, np.inf])
def test_bad_eta(net, data, eta):
    X, y = data
    with pytest.raises(ValueError, match=rf"eta must be a finite number > 0, got {float(eta)}"):
        fit(net, X, y, epochs=1, batch_size=10, eta=eta)


def test_non_numeric_eta(net, data):
    X, y = data
    with pytest.raises(TypeError, match=r"eta must be a real number, got '0.5'"):
        fit(net, X, y, epochs=1, batch_size=10, eta="0.5")


@pytest.mark.parametrize(("epochs", "error"), [(0, ValueError), (-1, ValueError),
                                               (1.0, TypeError)])
def test_bad_epochs(net, data, epochs, error):
    X, y = data
    with pytest.raises(error, match=rf"epochs must be an integer >= 1, got {epochs!r}"):
        fit(net, X, y, epochs=epochs, batch_size=10, eta=0.5)


def test_X_and_y_with_different_row_counts(net, data):
    X, y = data
    with pytest.raises(ValueError, match=r"training X and training y must have the same number of "
                                         r"rows, got 20 and 19"):
        fit(net, X, y[:19], epochs=1, batch_size=10, eta=0.5)
    with pytest.raises(ValueError, match=r"X and Y must have the same number of rows, got 20 and 21"):
        net.backprop(X, np.eye(2)[np.r_[y, 0]])
    with pytest.raises(ValueError, match=r"X and Y must have the same number of rows, got 19 and 20"):
        net.cost(X[:19], y)
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows, got 20 and 18"):
        net.accuracy(X, y[:18])


@pytest.mark.parametrize("sizes", ["784", "784, 30, 10", b"12", 784, None])
def test_sizes_not_a_list(sizes):
    with pytest.raises(TypeError, match=rf"sizes must be a list of layer sizes like \[784, 30, 10\], "
                                        rf"got {sizes!r}"):
        Network(sizes)


@pytest.mark.parametrize(("sizes", "index", "value"),
                         [([3, 0, 2], 1, 0), ([0, 2], 0, 0), ([3, 4, -1], 2, -1)])
def test_sizes_not_positive(sizes, index, value):
    with pytest.raises(ValueError, match=rf"sizes\[{index}\] must be an integer >= 1, got {value}"):
        Network(sizes)


@pytest.mark.parametrize("sizes", [[3, 2.0], [3, "4", 2]])
def test_sizes_not_integers(sizes):
    with pytest.raises(TypeError, match=r"sizes\[1\] must be an integer >= 1, got"):
        Network(sizes)


@pytest.mark.parametrize("sizes", [[], [5]])
def test_sizes_too_short(sizes):
    with pytest.raises(ValueError, match=r"sizes must name at least an input and an output layer"):
        Network(sizes)


@pytest.mark.parametrize("dtype", ["int32", "float16", np.int64, "complex128", "banana"])
def test_bad_dtype(dtype):
    with pytest.raises(ValueError, match=r"dtype must be one of \['float32', 'float64'\], got"):
        Network([3, 4, 2], dtype=dtype)
    with pytest.raises(ValueError, match=r"dtype must be one of \['float32', 'float64'\]"):
        Network.from_parameters([np.ones((2, 3))], [np.ones(2)], dtype=dtype)


def test_bad_cost_arguments(net, data):
    X, y = data
    with pytest.raises(ValueError, match=r"lmbda must be a finite number >= 0, got -1.0"):
        net.cost(X, y, lmbda=-1.0)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        net.cost(X, y, lmbda=1.0, n=0)


def test_softmax_needs_two_output_units():
    with pytest.raises(ValueError, match="softmax.*at least 2 output units.*got sizes\\[-1\\] = 1"):
        Network([3, 1], output_activation="softmax")


def test_a_network_larger_than_memory_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"sizes \[64, 100000000, 10\] would need 60 GB of memory, "
                                         r"more than the .* available; choose smaller layers"):
        Network([64, 100_000_000, 10])
    with pytest.raises(ValueError, match=r"\[2, 1000000, 1000000, 1000000, 1000000, \.\.\., 2\] "
                                         r"\(1001 layers\) would need"):
        Network([2] + [10**6] * 999 + [2])
    with pytest.raises(ValueError, match=r"sizes describe 1,001 layers, more than the limit of 1,000"):
        Network([2] + [10**6] * 1000 + [2])


# -- activation means the hidden layers; the output's comes from the cost (issue 13, item 1) ------


@pytest.mark.parametrize(("cost", "output"), [("cross_entropy", "sigmoid"), ("quadratic", "sigmoid"),
                                              ("log_likelihood", "softmax")])
def test_activation_names_the_hidden_layers_and_the_cost_the_output(cost, output):
    net = Network([64, 30, 20, 10], activation="relu", cost=cost)
    assert net.activation_names == ["relu", "relu", output]
    assert Network([64, 10], activation="relu", cost=cost).activation_names == [output]
    given = Network([64, 30, 10], activation="relu", output_activation="softmax", cost=cost)
    assert given.activation_names == ["relu", "softmax"]


def test_the_default_cost_is_cross_entropy_with_sigmoid_outputs():
    net = Network([64, 30, 10], activation="relu")
    assert net.cost_function.name == "cross_entropy" and net.activation_names == ["relu", "sigmoid"]
    with pytest.raises(ValueError, match=r"cost 'cross_entropy' needs outputs in \(0, 1\).*got output "
                                         r"activation 'linear'; choose one of those or "
                                         r"cost='quadratic'"):
        Network([3, 2], output_activation="linear")


def test_a_list_still_names_every_layer():
    net = Network([3, 4, 2], activation=["relu", "softmax"], cost="log_likelihood")
    assert net.activation_names == ["relu", "softmax"]
    with pytest.raises(ValueError, match=r"one name \(for the hidden layers\) or a list of 2"):
        Network([3, 4, 2], activation=["relu"])


# -- predict_proba gives probabilities; the raw outputs are feedforward (item 2) ----------------


def test_predict_proba_normalises_sigmoid_outputs():
    net = Network([3, 5, 4], seed=0)
    X = np.random.default_rng(1).normal(size=(6, 3))
    raw = net.feedforward(X)
    proba = net.predict_proba(X)
    assert not np.allclose(raw.sum(axis=1), 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True), rtol=1e-12)
    assert np.array_equal(np.argmax(proba, axis=1), net.predict(X))


def test_predict_proba_keeps_softmax_outputs():
    net = Network([3, 5, 4], cost="log_likelihood", seed=0)
    X = np.random.default_rng(1).normal(size=(6, 3))
    assert np.array_equal(net.predict_proba(X), net.feedforward(X))


def test_predict_proba_of_all_zero_or_negative_outputs_is_uniform_without_a_warning():
    net = Network.from_parameters([np.array([[1.0], [-1.0], [2.0]])], [np.zeros(3)],
                                  activation=["relu"], cost="quadratic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = net.predict_proba(np.array([[0.0], [1.0]]))  # row 0: all outputs 0
    np.testing.assert_allclose(proba, [[1 / 3] * 3, [1 / 3, 0, 2 / 3]])


def test_unsure_flags_rows_whose_class_probability_is_low():
    net = Network.from_parameters([np.array([[4.0], [-4.0]])], [np.zeros(2)], activation=["sigmoid"])
    X = np.array([[1.0], [0.0], [-1.0], [-0.1]])  # outputs (0.98, 0.02), (0.5, 0.5), ..., (0.4, 0.6)
    assert net.unsure(X).tolist() == [False, False, False, False]
    assert net.unsure(X, threshold=0.7).tolist() == [False, True, False, True]
    three = Network.from_parameters([np.array([[1.0], [1.0], [3.0]])], [np.full(3, -6.0)],
                                    activation=["sigmoid"])  # all outputs low, one far above the rest
    x = np.array([[1.0]])
    assert np.max(three.feedforward(x)) < 0.1 and np.max(three.predict_proba(x)) > 0.75
    assert three.unsure(x).tolist() == [False]  # the probability shown, as predict's ? mark
    with pytest.raises(TypeError, match="threshold must be a real number"):
        net.unsure(X, threshold="high")


def test_the_workspace_gradient_is_one_vector_of_the_layers_gradients():
    """nabla_w and nabla_b are consecutive parts of Workspace.gradient (weights first), the vector
    the optimizer updates in one pass; backprop fills them through the views."""
    from deltaprop.workspace import Workspace

    net = Network([5, 4, 3], seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.random((6, 5)), np.eye(3)[rng.integers(0, 3, 6)]
    space = Workspace(net.sizes, net.dtype, 8)
    nabla_b, nabla_w = net.gradient(X, Y, workspace=space)
    assert space.gradient.shape == (net.num_parameters,)
    expected = np.concatenate([a.reshape(-1) for a in nabla_w + nabla_b])
    np.testing.assert_array_equal(space.gradient, expected)
    assert space.rows(6).gradient is space.gradient
    fresh_b, fresh_w = net.backprop(X, Y)
    for a, b in zip(nabla_w + nabla_b, fresh_w + fresh_b, strict=True):
        np.testing.assert_array_equal(a, b)
