"""The book's algorithm, literally: one example at a time, as column vectors.

A transcription of ``backprop`` and ``update_mini_batch`` from Nielsen's network2.py, generalized to
deltaprop's activations and costs. It is the oracle of the tests, the slow baseline of the benchmarks,
and a text to read beside ``Network.gradient``, which does the same for a whole mini-batch at once.

deltaprop's activations and costs act on rows; a column vector v of shape (n, 1) is handed to them as
the single row v.T and the result turned back with .T.
"""

from __future__ import annotations

import numpy as np

from deltaprop.network import Network

Array = np.ndarray


def backprop(net: Network, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
    """∇_b C_x and ∇_w C_x for one example: x (n_0, 1), y (n_L, 1) column vectors.

    Returns (nabla_b, nabla_w) with nabla_b[l] of shape (n_l, 1) and nabla_w[l] like weights[l].
    """
    # feedforward
    activation = x
    activations = [x]  # a^0, a^1, ..., a^L
    zs = []  # z^1, ..., z^L
    for w, b, act in zip(net.weights, net.biases, net.activations, strict=True):
        z = w @ activation + b[:, None]
        zs.append(z)
        activation = act(z.T).T
        activations.append(activation)
    # backward pass
    nabla_b = [np.zeros((b.shape[0], 1), dtype=b.dtype) for b in net.biases]
    nabla_w = [np.zeros_like(w) for w in net.weights]
    output = net.activations[-1]
    delta = net.cost_function.delta(zs[-1].T, activations[-1].T, y.T, output).T  # BP1
    nabla_b[-1] = delta  # BP3
    nabla_w[-1] = delta @ activations[-2].T  # BP4
    for l in range(2, net.num_layers + 1):  # noqa: E741 - the book's l, counting back from the output
        z = zs[-l]
        sp = net.activations[-l].derivative(z.T, activations[-l].T).T
        delta = (net.weights[-l + 1].T @ delta) * sp  # BP2
        nabla_b[-l] = delta  # BP3
        nabla_w[-l] = delta @ activations[-l - 1].T  # BP4
    return nabla_b, nabla_w


def gradient(net: Network, X: Array, Y: Array) -> tuple[list[Array], list[Array]]:
    """The mean over the rows of X (m, n_0), Y (m, n_L) of the per-example gradients."""
    nabla_b = [np.zeros((b.shape[0], 1), dtype=b.dtype) for b in net.biases]
    nabla_w = [np.zeros_like(w) for w in net.weights]
    for x, y in zip(X, Y, strict=True):
        delta_nabla_b, delta_nabla_w = backprop(net, x[:, None], y[:, None])
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
    m = X.shape[0]
    return [nb[:, 0] / m for nb in nabla_b], [nw / m for nw in nabla_w]


def update_mini_batch(
    net: Network, X: Array, Y: Array, eta: float, lmbda: float = 0.0, n: int = 1
) -> None:
    """One step of gradient descent on the mini-batch (X, Y), with the book's L2 weight decay."""
    nabla_b, nabla_w = gradient(net, X, Y)  # (1/m) Σ_x of the per-example gradients
    net.weights = [
        (1 - eta * (lmbda / n)) * w - eta * nw for w, nw in zip(net.weights, nabla_w, strict=True)
    ]
    net.biases = [b - eta * nb for b, nb in zip(net.biases, nabla_b, strict=True)]


def sgd_epoch(
    net: Network, X: Array, Y: Array, batch_size: int, eta: float, lmbda: float = 0.0
) -> None:
    """One epoch of the book's SGD over (X, Y) in row order (no shuffling), n = len(X)."""
    n = X.shape[0]
    for start in range(0, n, batch_size):
        update_mini_batch(
            net, X[start:start + batch_size], Y[start:start + batch_size], eta, lmbda, n
        )
