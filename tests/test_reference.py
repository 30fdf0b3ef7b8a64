"""The vectorized engine against the book's per-example algorithm (deltaprop.reference)."""

import numpy as np
import pytest
from helpers import PAIRINGS, make_network, random_problem

from deltaprop import fit, reference

ARCHITECTURES = [[5, 4], [6, 9, 3], [4, 7, 5, 3], [8, 6, 6, 6, 4]]


@pytest.mark.parametrize(("output", "cost"), PAIRINGS)
@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "x".join(map(str, s)))
def test_matrix_backprop_equals_summed_per_example_backprop(output, cost, sizes):
    rng = np.random.default_rng(sum(sizes))
    net = make_network(sizes, "tanh", output, cost, seed=1)
    X, Y = random_problem(sizes, 11, cost, rng)
    nabla_b, nabla_w = net.backprop(X, Y)
    ref_b, ref_w = reference.gradient(net, X, Y)
    for got, want in zip(nabla_b + nabla_w, ref_b + ref_w, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lmbda", [0.0, 5.0])
@pytest.mark.parametrize(("hidden", "output", "cost"), [
    ("sigmoid", "sigmoid", "quadratic"),
    ("sigmoid", "sigmoid", "cross_entropy"),
    ("relu", "softmax", "log_likelihood"),
])
def test_one_epoch_of_fit_equals_the_books_sgd(lmbda, hidden, output, cost):
    rng = np.random.default_rng(7)
    sizes = [6, 8, 4]
    X, Y = random_problem(sizes, 53, cost, rng)  # 53 rows: the last mini-batch has 3
    net = make_network(sizes, hidden, output, cost, seed=2)
    book = net.copy()
    fit(net, X, Y, epochs=1, batch_size=10, eta=0.5, lmbda=lmbda, shuffle=False)
    reference.sgd_epoch(book, X, Y, batch_size=10, eta=0.5, lmbda=lmbda)
    for got, want in zip(net.weights + net.biases, book.weights + book.biases, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    moved = max(np.abs(w - w0).max() for w, w0 in zip(
        net.weights, make_network(sizes, hidden, output, cost, seed=2).weights, strict=True))
    assert moved > 1e-3  # the epoch did train


def test_reference_backprop_uses_column_vectors():
    net = make_network([3, 4, 2], "sigmoid", None, "quadratic")
    nabla_b, nabla_w = reference.backprop(net, np.ones((3, 1)), np.zeros((2, 1)))
    assert [nb.shape for nb in nabla_b] == [(4, 1), (2, 1)]
    assert [nw.shape for nw in nabla_w] == [(4, 3), (2, 4)]
