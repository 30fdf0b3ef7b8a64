"""Property-based tests of Network: shapes, dtypes, finiteness, and silence at extreme inputs."""

from __future__ import annotations

import warnings

import numpy as np
from helpers import HIDDEN, PAIRINGS
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deltaprop import Network, reference

SETTINGS = settings(max_examples=150, deadline=None)
CANONICAL = [("sigmoid", "cross_entropy"), ("softmax", "log_likelihood")]
# Every pairing of a cost that needs probabilities with a probability output: the two canonical ones
# (δ^L = a − y) and the two whose δ^L goes through the general BP1 (computed in log space).
PROBABILITY_PAIRINGS = [*CANONICAL, ("softmax", "cross_entropy"), ("sigmoid", "log_likelihood")]


@st.composite
def networks(draw, pairings=PAIRINGS):
    """A random Network: 2-5 layers of width 1-12, random hidden activations, a valid pairing."""
    output, cost = draw(st.sampled_from(pairings))
    n_layers = draw(st.integers(2, 5))
    sizes = draw(st.lists(st.integers(1, 12), min_size=n_layers, max_size=n_layers))
    if output == "softmax":
        # With one unit softmax is the constant 1: Network refuses it (tested in test_network.py).
        sizes[-1] = max(sizes[-1], 2)
    hidden = draw(st.lists(st.sampled_from(HIDDEN), min_size=n_layers - 2, max_size=n_layers - 2))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    init = draw(st.sampled_from(["default", "large", "xavier", "he"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return Network(sizes, activation=[*hidden, output], cost=cost, init=init, seed=seed,
                   dtype=dtype)


@st.composite
def problems(draw, nets=None, x_bound=5.0):
    """(net, X, Y): X finite in [-x_bound, x_bound]; Y suited to the cost (or integer labels)."""
    net = draw(nets if nets is not None else networks())
    m = draw(st.integers(1, 20))
    n_in, n_out = net.sizes[0], net.sizes[-1]
    finite = st.floats(-x_bound, x_bound, allow_nan=False, allow_infinity=False)
    X = draw(hnp.arrays(np.float64, (m, n_in), elements=finite))
    cost = net.cost_function.name
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["labels", "one_hot", "matrix"]))
    if kind == "labels":
        Y = rng.integers(0, n_out, m)
    elif kind == "one_hot":
        Y = np.eye(n_out)[rng.integers(0, n_out, m)]
    elif cost == "log_likelihood":
        Y = rng.dirichlet(np.ones(n_out), size=m)  # probability rows
    elif cost == "cross_entropy":
        Y = rng.uniform(0.0, 1.0, size=(m, n_out))
    else:
        Y = rng.normal(0.0, 3.0, size=(m, n_out))
    return net, X, Y


def _check_gradients(net: Network, nabla_b, nabla_w) -> None:
    assert isinstance(nabla_b, list) and isinstance(nabla_w, list)
    assert len(nabla_b) == len(nabla_w) == net.num_layers
    for nb, b in zip(nabla_b, net.biases, strict=True):
        assert nb.shape == b.shape and nb.dtype == b.dtype == net.dtype
        assert np.all(np.isfinite(nb))
    for nw, w in zip(nabla_w, net.weights, strict=True):
        assert nw.shape == w.shape and nw.dtype == w.dtype == net.dtype
        assert np.all(np.isfinite(nw))


@SETTINGS
@given(problems())
def test_shapes_dtypes_and_finiteness(problem):
    net, X, Y = problem
    m = X.shape[0]
    out = net.feedforward(X)
    assert out.shape == (m, net.sizes[-1]) and out.dtype == net.dtype
    assert np.all(np.isfinite(out))
    if net.activation_names[-1] == "softmax":
        assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    if net.activation_names[-1] == "sigmoid":
        assert np.all((out >= 0) & (out <= 1))
    assert net.predict(X).shape == (m,)

    nabla_b, nabla_w = net.backprop(X, Y)
    _check_gradients(net, nabla_b, nabla_w)

    cost = net.cost(X, Y)
    assert isinstance(cost, float) and np.isfinite(cost) and cost >= 0.0
    assert net.cost(X, Y, lmbda=0.5) >= cost


@SETTINGS
@given(problems(x_bound=2.0))
def test_backprop_equals_the_books_per_example_algorithm(problem):
    """The matrix-based pass gives the mean of the per-example gradients of reference.backprop."""
    net, X, Y = problem
    Xc, Yc = net.check_XY(X, Y)
    nabla_b, nabla_w = net.backprop(X, Y)
    ref_b, ref_w = reference.gradient(net, Xc, Yc)
    rtol, atol = (1e-9, 1e-11) if net.dtype == np.float64 else (2e-3, 2e-4)
    for ours, theirs in zip(nabla_b + nabla_w, ref_b + ref_w, strict=True):
        scale = max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
        assert np.allclose(ours, theirs, rtol=rtol, atol=atol * scale)


@SETTINGS
@given(problems(x_bound=2.0))
def test_gradient_is_the_mean_over_rows(problem):
    """Repeating every row leaves the mean gradient unchanged; the rows' order does not matter."""
    net, X, Y = problem
    nabla_b, nabla_w = net.backprop(X, Y)
    reps = (2,) if Y.ndim == 1 else (2, 1)
    twice_b, twice_w = net.backprop(np.tile(X, (2, 1)), np.tile(Y, reps))
    order = np.arange(X.shape[0])[::-1]
    rev_b, rev_w = net.backprop(X[order], Y[order])
    rtol, atol = (1e-10, 1e-12) if net.dtype == np.float64 else (1e-4, 1e-5)
    for ours, twice, rev in zip(nabla_b + nabla_w, twice_b + twice_w, rev_b + rev_w, strict=True):
        scale = max(1.0, float(np.max(np.abs(ours), initial=0.0)))
        assert np.allclose(twice, ours, rtol=rtol, atol=atol * scale)
        assert np.allclose(rev, ours, rtol=rtol, atol=atol * scale)


def _scale_to(net: Network, X: np.ndarray, z_max: float) -> None:
    """Scale the first and the last layer so that max |z| reaches z_max in both."""
    for layer in sorted({0, net.num_layers - 1}):
        zs = net.forward(net.check_X(X)).zs
        peak = float(np.max(np.abs(zs[layer])))
        assume(peak >= 1e-3)  # a (nearly) all-zero z cannot be scaled up to z_max
        factor = net.dtype.type(z_max / peak)
        net.weights[layer] = net.weights[layer] * factor
        net.biases[layer] = net.biases[layer] * factor


@SETTINGS
@given(problems(nets=networks(pairings=PROBABILITY_PAIRINGS)), st.sampled_from([1e2, 1e3]))
def test_probability_pairings_are_finite_and_silent_at_extreme_z(problem, z_max):
    net, X, Y = problem
    _scale_to(net, X, z_max)
    zs = net.forward(net.check_X(X)).zs
    assert 0.99 * z_max <= np.max(np.abs(zs[-1])) <= 1.01 * z_max
    # Underflow of e^-1000 to 0 is exact enough and allowed; overflow, 0/0, x/0 and warnings are not.
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise",
                                                under="ignore"):
        warnings.simplefilter("error")
        out = net.feedforward(X)
        cost = net.cost(X, Y)
        regularized = net.cost(X, Y, lmbda=1.0, n=100)
        nabla_b, nabla_w = net.backprop(X, Y)
    assert np.all(np.isfinite(out)) and out.dtype == net.dtype
    assert np.isfinite(cost) and cost >= 0.0
    assert np.isfinite(regularized) and regularized >= cost
    _check_gradients(net, nabla_b, nabla_w)
    if (net.activation_names[-1], net.cost_function.name) in CANONICAL:
        # The output error is δ^L = a − y here, so |∂C/∂b^L| <= max|a − y| <= 1 per unit for
        # one-hot / probability targets.
        assert np.all(np.abs(nabla_b[-1]) <= 1.0 + 1e-6)


@SETTINGS
@given(st.sampled_from(PROBABILITY_PAIRINGS), st.sampled_from(["float32", "float64"]),
       st.floats(-1e3, 1e3, allow_nan=False), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_cost_at_extreme_z_matches_its_exact_value(pairing, dtype, z0, n_out, seed):
    """One layer, z = x w with x = 1: the cost from softplus/log-sum-exp of z, computed exactly."""
    output, cost_name = pairing
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1e3, 1e3, n_out)
    z[0] = z0
    net = Network.from_parameters([z[:, None]], [np.zeros(n_out)], output_activation=output,
                                  cost=cost_name, dtype=dtype)
    y = int(rng.integers(0, n_out))
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise",
                                                under="ignore"):
        warnings.simplefilter("error")
        value = net.cost(np.ones((1, 1)), np.array([y]))
    zd = net.weights[0][:, 0].astype(np.float64)
    t = np.eye(n_out)[y]
    if output == "sigmoid":
        log_a, log_1ma = -np.logaddexp(0.0, -zd), -np.logaddexp(0.0, zd)
    else:
        total = np.logaddexp.reduce(zd)
        log_a = zd - total
        log_1ma = np.array([np.logaddexp.reduce(np.delete(zd, k)) for k in range(n_out)]) - total
    if cost_name == "cross_entropy":
        exact = float(-np.sum(t * log_a + (1 - t) * log_1ma))
    else:
        exact = float(-np.sum(t * log_a))
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert abs(value - exact) <= rtol * max(1.0, abs(exact))
