"""The fast training loop (deltaprop._fast) equals the readable one: Network.gradient + SGD.step.

Each test trains two copies of a network with ``fit``, one on the fast path and one with the fast
path switched off, and compares the parameter *updates* (w_after − w_before) relative to their size:
equal updates mean equal gradients, for every layer. float64 must agree to ~1e-12, float32 to its
own rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HIDDEN, PAIRINGS, make_network, random_problem

from deltaprop import Network, _fast, register_activation
from deltaprop.activations import Activation
from deltaprop.costs import QuadraticCost
from deltaprop.errors import TrainingDivergedError, TrainingInterrupted
from deltaprop.training import fit

TOLERANCE = {"float64": 1e-12, "float32": 2e-5}


def _relative_update_error(before, fast, slow) -> float:
    """max over the parameter arrays of max|Δ_fast − Δ_slow| / max|Δ_slow|."""
    worst = 0.0
    for p0, pf, ps in zip(before.weights + before.biases, fast.weights + fast.biases,
                          slow.weights + slow.biases, strict=True):
        d_fast = pf.astype(np.float64) - p0
        d_slow = ps.astype(np.float64) - p0
        scale = np.abs(d_slow).max()
        if scale == 0:
            assert np.abs(d_fast).max() == 0
            continue
        worst = max(worst, float(np.abs(d_fast - d_slow).max() / scale))
    return worst


def _train_both(net: Network, X, Y, monkeypatch, **options):
    """(fast-path net, readable-path net, fast history, readable history) after fit(**options)."""
    fast, slow = net.copy(), net.copy()
    monkeypatch.setattr(_fast, "enabled", True)
    assert _fast.uses_fast_path(fast)
    h_fast = fit(fast, X, Y, **options)
    monkeypatch.setattr(_fast, "enabled", False)
    h_slow = fit(slow, X, Y, **options)
    return fast, slow, h_fast, h_slow


@pytest.mark.parametrize("output, cost", PAIRINGS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_one_step_equals_the_readable_gradient_for_every_pairing(output, cost, hidden, monkeypatch):
    """One mini-batch = the whole data: the update is −η(∇C + (λ/n) w), from BP1-BP4 alone."""
    rng = np.random.default_rng(1)
    sizes = [7, 6, 5, 4]
    net = make_network(sizes, hidden, output, cost, seed=3)
    X, Y = random_problem(sizes, 9, cost, rng)
    fast, slow, _, _ = _train_both(net, X, Y, monkeypatch, epochs=1, batch_size=9, eta=0.7,
                                   lmbda=0.3, shuffle=False)
    assert _relative_update_error(net, fast, slow) < TOLERANCE["float64"]


@pytest.mark.parametrize("output, cost", PAIRINGS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("small_products", [True, False], ids=["small", "large"])
def test_an_epoch_of_fit_equals_the_readable_path(output, cost, dtype, small_products,
                                                   monkeypatch):
    """Several mini-batches with a short last one, shuffled, L2: parameters and history agree.
    "large": the loop for large products (GEMM for every product, configured BLAS threads)."""
    if not small_products:
        monkeypatch.setattr(_fast, "SMALL_GEMM", 0)
    rng = np.random.default_rng(2)
    sizes = [10, 8, 6, 5]
    net = make_network(sizes, "sigmoid", output, cost, seed=4, dtype=dtype)
    X, Y = random_problem(sizes, 47, cost, rng, dtype)
    fast, slow, h_fast, h_slow = _train_both(net, X, Y, monkeypatch, epochs=2, batch_size=10,
                                             eta=0.5, lmbda=0.1, seed=7)
    assert all(p.dtype == np.dtype(dtype) for p in fast.weights + fast.biases)
    assert _relative_update_error(net, fast, slow) < TOLERANCE[dtype] * 10
    tol = TOLERANCE[dtype] * 10
    for key in ("train_cost", "learning_speed"):
        np.testing.assert_allclose(h_fast[key], h_slow[key], rtol=tol, atol=0)


@pytest.mark.parametrize("blas, small_products", [(True, True), (False, True), (True, False)],
                         ids=["blas", "numpy", "blas-large"])
@pytest.mark.parametrize(
    "options",
    [
        dict(momentum=0.9),
        dict(momentum=0.5, lmbda=2.0, l1=0.5),
        dict(l1=1.0),
        dict(dropout=0.3),
        dict(dropout=0.2, momentum=0.7, lmbda=1.0),
    ],
    ids=["momentum", "momentum-l2-l1", "l1", "dropout", "dropout-momentum-l2"],
)
def test_momentum_l1_and_dropout_equal_the_readable_path(options, blas, small_products,
                                                         monkeypatch):
    monkeypatch.setattr(_fast, "use_blas", blas)
    if not small_products:
        monkeypatch.setattr(_fast, "SMALL_GEMM", 0)
    rng = np.random.default_rng(5)
    sizes = [12, 9, 7, 3]
    net = Network(sizes, activation="relu", output_activation="softmax", cost="log_likelihood",
                  seed=6)
    X, Y = random_problem(sizes, 53, "log_likelihood", rng)
    fast, slow, h_fast, h_slow = _train_both(net, X, Y, monkeypatch, epochs=3, batch_size=8,
                                             eta=0.2, seed=9, **options)
    assert _relative_update_error(net, fast, slow) < 1e-11
    np.testing.assert_allclose(h_fast["learning_speed"], h_slow["learning_speed"], rtol=1e-11)


def test_the_numpy_fallback_equals_the_blas_path(monkeypatch):
    rng = np.random.default_rng(8)
    sizes = [20, 15, 10]
    net = Network(sizes, seed=1)
    X, Y = random_problem(sizes, 64, "quadratic", rng)
    monkeypatch.setattr(_fast, "use_blas", False)
    fallback, slow, _, _ = _train_both(net, X, Y, monkeypatch, epochs=2, batch_size=10, eta=3.0,
                                       lmbda=1.0, seed=1)
    assert _relative_update_error(net, fallback, slow) < 1e-12


def test_custom_activation_and_cost_go_through_their_own_functions(monkeypatch):
    """An activation or cost the loop does not know is called exactly as the readable path does."""
    softsign = register_activation(Activation(
        "softsign_test", lambda z: z / (1 + np.abs(z)), lambda z, a: 1 / (1 + np.abs(z)) ** 2))

    class HalfQuadratic(QuadraticCost):
        name = "half_quadratic_test"

        def gradient(self, a, y):
            return 0.5 * (a - y)

    rng = np.random.default_rng(3)
    sizes = [6, 5, 4]
    net = Network(sizes, activation=softsign, cost=HalfQuadratic(), seed=2)
    X, Y = random_problem(sizes, 23, "quadratic", rng)
    fast, slow, _, _ = _train_both(net, X, Y, monkeypatch, epochs=2, batch_size=5, eta=1.0,
                                   seed=3)
    assert _relative_update_error(net, fast, slow) < 1e-12


def test_one_epoch_on_mnist_shaped_data_matches(monkeypatch):
    """The benchmark's configuration A, small: [784, 30, 10], batch 10, η = 3, one epoch."""
    rng = np.random.default_rng(0)
    X = rng.random((600, 784))
    y = rng.integers(0, 10, 600)
    net = Network([784, 30, 10], seed=0)
    fast, slow, h_fast, h_slow = _train_both(net, X, y, monkeypatch, epochs=1, batch_size=10,
                                             eta=3.0, seed=1)
    assert _relative_update_error(net, fast, slow) < 1e-12
    assert h_fast["train_accuracy"] == h_slow["train_accuracy"]


@pytest.mark.parametrize("small_products", [True, False], ids=["small", "large"])
def test_column_major_inputs_in_row_order(small_products, monkeypatch):
    """shuffle=False hands fit's own (here Fortran-ordered) array to the loop: still equal."""
    if not small_products:
        monkeypatch.setattr(_fast, "SMALL_GEMM", 0)
    rng = np.random.default_rng(4)
    X = np.asfortranarray(rng.normal(size=(90, 12)))
    y = rng.integers(0, 3, 90)
    net = Network([12, 8, 3], activation="tanh", seed=0)
    fast, slow, _, _ = _train_both(net, X, y, monkeypatch, epochs=1, batch_size=16, eta=0.5,
                                   shuffle=False)
    assert _relative_update_error(net, fast, slow) < 1e-12


@pytest.mark.parametrize("sizes", [[5, 1], [5, 3, 1]])
def test_one_layer_and_one_output_unit(sizes, monkeypatch):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(37, 5))
    Y = rng.random((37, 1))
    net = Network(sizes, seed=1)
    fast, slow, h_fast, h_slow = _train_both(net, X, Y, monkeypatch, epochs=2, batch_size=6,
                                             eta=0.5, lmbda=0.2, momentum=0.3, seed=2)
    assert _relative_update_error(net, fast, slow) < 1e-12
    np.testing.assert_allclose(h_fast["learning_speed"], h_slow["learning_speed"], rtol=1e-12)


def test_divergence_is_reported_at_the_same_mini_batch(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 12))
    Y = np.eye(3)[rng.integers(0, 3, 200)] * 1e3
    messages = []
    for enabled in (True, False):
        monkeypatch.setattr(_fast, "enabled", enabled)
        net = Network([12, 10, 3], activation="relu", output_activation="linear", seed=0)
        with pytest.raises(TrainingDivergedError) as error:
            net.fit(X, Y, epochs=50, batch_size=16, eta=0.5, seed=0)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_a_stop_request_stops_after_the_same_mini_batch(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5))
    y = rng.integers(0, 2, 100)
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(_fast, "enabled", enabled)
        calls = iter(range(1, 1000))
        net = Network([5, 4, 2], seed=0)
        with pytest.raises(TrainingInterrupted) as stopped:
            net.fit(X, y, epochs=3, batch_size=7, eta=1.0, seed=0,
                    should_stop=lambda calls=calls: next(calls) >= 20)
        results.append((str(stopped.value), net))
    assert results[0][0] == results[1][0]
    before = Network([5, 4, 2], seed=0)
    assert _relative_update_error(before, results[0][1], results[1][1]) < 1e-12


def test_arrays_it_cannot_update_in_place_send_fit_to_the_readable_path(monkeypatch):
    """Read-only or non-contiguous weights: the fast path declines and the readable one decides."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 2, 30)
    net = Network([4, 3, 2], seed=0)
    net.weights[0] = np.asfortranarray(net.weights[0])
    assert not _fast.uses_fast_path(net)
    reference = Network([4, 3, 2], seed=0)
    monkeypatch.setattr(_fast, "enabled", False)
    reference.fit(X, y, epochs=1, batch_size=5, eta=1.0, seed=0)
    monkeypatch.setattr(_fast, "enabled", True)
    net.fit(X, y, epochs=1, batch_size=5, eta=1.0, seed=0)
    for w, v in zip(net.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(w, v)  # the same readable arithmetic, bit for bit
    frozen = Network([4, 3, 2], seed=0)
    frozen.biases[1].flags.writeable = False
    with pytest.raises(ValueError):  # numpy's own error from the readable update
        frozen.fit(X, y, epochs=1, batch_size=5, eta=1.0, seed=0)


def test_buffers_are_reused_across_epochs_and_batches(monkeypatch):
    """After the first epoch, further epochs allocate nothing that grows with the batches."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.random((2000, 50))
    y = rng.integers(0, 10, 2000)
    net = Network([50, 20, 10], seed=0)
    peaks = []

    def measure(record):
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()

    tracemalloc.start()
    try:
        net.fit(X, y, epochs=4, batch_size=5, eta=1.0, seed=0, shuffle=False, callbacks=[measure])
    finally:
        tracemalloc.stop()
    # monitoring (forward passes over the data) dominates; no growth from epoch to epoch
    assert max(peaks[1:]) <= peaks[1] * 1.1 + 64_000
