"""deltaprop's backpropagation against PyTorch autograd: same net, same cost, same gradients.

The torch network is built from deltaprop's own arrays (z = a @ W.T + b, rows are examples) and its
loss is written out from the textbook definitions, as a mean over rows:

    quadratic        ½‖y − a‖²
    cross_entropy    −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]
    log_likelihood   −Σ_j y_j ln a_j

so autograd's ``.grad`` is an independent oracle for ``Network.backprop`` and ``Network.cost``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import HIDDEN, PAIRINGS

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS

TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, negative_slope=0.01),
    "linear": lambda z: z,  # the identity
    "softmax": lambda z: torch.softmax(z, dim=1),
    "softplus": torch.nn.functional.softplus,  # ln(1 + e^z); z itself above its threshold 20
}
HIDDEN_ACTIVATIONS = [name for name, act in ACTIVATIONS.items() if act.elementwise]
"""Every registered elementwise activation, in registration order (HIDDEN's, then softplus): each
needs its torch twin above."""

# Hidden widths for 1..4 hidden layers; (input, output) widths vary with the case.
DEPTHS = {
    1: [7],
    2: [5, 9],
    3: [6, 1, 8],
    4: [3, 10, 4, 6],
}

ABS_TOL = 1e-10
REL_TOL = 1e-9


@pytest.fixture(autouse=True)
def _float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


# -- the torch twin ------------------------------------------------------------------------------


def torch_forward(net: Network, X: np.ndarray):
    """(z^L, a^L, [W tensors], [b tensors]) of a torch copy of ``net`` that records gradients."""
    Ws = [torch.tensor(w, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    a = torch.tensor(X)
    for W, b, name in zip(Ws, bs, net.activation_names, strict=True):
        z = a @ W.T + b
        a = TORCH_ACTIVATIONS[name](z)
    return z, a, Ws, bs


def log_a_and_log_1_minus_a(output: str, z: torch.Tensor, a: torch.Tensor):
    """ln a and ln(1 − a), evaluated from z so that they stay exact where a rounds to 0 or 1."""
    if output == "sigmoid":
        return torch.nn.functional.logsigmoid(z), torch.nn.functional.logsigmoid(-z)
    if output == "softmax":
        n = z.shape[1]
        others = torch.where(torch.eye(n, dtype=torch.bool), -torch.inf, z[:, None, :])
        log_total = torch.logsumexp(z, dim=1, keepdim=True)
        return z - log_total, torch.logsumexp(others, dim=2) - log_total
    return torch.log(a), torch.log(1 - a)  # pragma: no cover


def torch_loss(cost: str, output: str, z: torch.Tensor, a: torch.Tensor,
               y: torch.Tensor) -> torch.Tensor:
    """The mean over rows of the textbook cost C_x."""
    if cost == "quadratic":
        per_row = 0.5 * ((y - a) ** 2).sum(dim=1)
    elif cost == "cross_entropy":
        log_a, log_1_minus_a = log_a_and_log_1_minus_a(output, z, a)
        per_row = -(y * log_a + (1 - y) * log_1_minus_a).sum(dim=1)
    elif cost == "log_likelihood":
        log_a, _ = log_a_and_log_1_minus_a(output, z, a)
        per_row = -(y * log_a).sum(dim=1)
    else:  # pragma: no cover
        raise AssertionError(cost)
    return per_row.mean()


def torch_gradients(net: Network, cost: str, X: np.ndarray, Y: np.ndarray):
    """(loss, output, nabla_b, nabla_w) from autograd, as numpy arrays."""
    z, a, Ws, bs = torch_forward(net, X)
    loss = torch_loss(cost, net.activation_names[-1], z, a, torch.tensor(Y))
    loss.backward()
    return (
        loss.item(),
        a.detach().numpy(),
        [b.grad.numpy() for b in bs],
        [W.grad.numpy() for W in Ws],
    )


def test_oracle_is_the_textbook_cost():
    """The stable ln a, ln(1 − a) of the oracle equal the naive ones where those are accurate."""
    z = torch.tensor([[-3.0, 0.5, 2.0], [1.0, -1.0, 0.0]])
    for output in ("sigmoid", "softmax"):
        a = TORCH_ACTIVATIONS[output](z)
        log_a, log_1_minus_a = log_a_and_log_1_minus_a(output, z, a)
        assert torch.allclose(log_a, torch.log(a), rtol=1e-14, atol=0)
        assert torch.allclose(log_1_minus_a, torch.log(1 - a), rtol=1e-13, atol=0)


# -- problems --------------------------------------------------------------------------------------


def targets(cost: str, m: int, n_out: int, rng: np.random.Generator, kind: str = "auto"):
    if cost == "log_likelihood":
        if kind == "probabilities":
            return rng.dirichlet(np.ones(n_out), size=m)
        return np.eye(n_out)[rng.integers(0, n_out, m)]
    if cost == "cross_entropy":
        return rng.uniform(0.0, 1.0, size=(m, n_out))
    return rng.normal(size=(m, n_out))


def assert_close(ours: np.ndarray, theirs: np.ndarray, what: str, abs_tol=ABS_TOL, rel_tol=REL_TOL):
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    assert np.all(np.isfinite(ours)), f"{what}: not finite: {ours}"
    err = np.max(np.abs(ours - theirs), initial=0.0)
    assert err <= abs_tol, f"{what}: max abs error {err:.3g} > {abs_tol:g}"
    scale = np.linalg.norm(theirs)
    rel = np.linalg.norm(ours - theirs) / scale if scale > 0 else np.linalg.norm(ours)
    assert rel <= rel_tol, f"{what}: relative error {rel:.3g} > {rel_tol:g}"


def check_against_torch(net: Network, cost: str, X: np.ndarray, Y: np.ndarray, Y_given=None):
    loss, out, t_nabla_b, t_nabla_w = torch_gradients(net, cost, X, Y)
    Y_given = Y if Y_given is None else Y_given
    nabla_b, nabla_w = net.backprop(X, Y_given)
    assert len(nabla_b) == len(nabla_w) == net.num_layers
    for i in range(net.num_layers):
        assert nabla_w[i].shape == net.weights[i].shape
        assert nabla_b[i].shape == net.biases[i].shape
        assert_close(nabla_w[i], t_nabla_w[i], f"nabla_w[{i}]")
        assert_close(nabla_b[i], t_nabla_b[i], f"nabla_b[{i}]")
    assert_close(net.feedforward(X), out, "feedforward", abs_tol=1e-12, rel_tol=1e-12)
    ours = net.cost(X, Y_given)
    assert isinstance(ours, float)
    assert abs(ours - loss) <= 1e-12 * max(1.0, abs(loss)), (ours, loss)


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize(("output", "cost"), PAIRINGS, ids=[f"{o}-{c}" for o, c in PAIRINGS])
def test_gradients_match_autograd(depth, output, cost):
    offset = PAIRINGS.index((output, cost)) + depth
    hidden = [HIDDEN[(offset + i) % len(HIDDEN)] for i in range(depth)]
    n_out = 4 if output == "softmax" else 3
    sizes = [5, *DEPTHS[depth], n_out]
    rng = np.random.default_rng(1000 * depth + offset)
    net = Network(sizes, activation=[*hidden, output], cost=cost, seed=depth + offset)
    m = 11
    X = rng.normal(size=(m, sizes[0]))
    check_against_torch(net, cost, X, targets(cost, m, n_out, rng))


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(("output", "cost"), PAIRINGS, ids=[f"{o}-{c}" for o, c in PAIRINGS])
def test_every_hidden_activation_matches_autograd(hidden, output, cost):
    sizes = [4, 6, 5, 3]
    rng = np.random.default_rng(HIDDEN_ACTIVATIONS.index(hidden) * 31 + PAIRINGS.index((output, cost)))
    net = Network(sizes, activation=hidden, output_activation=output, cost=cost,
                  seed=HIDDEN_ACTIVATIONS.index(hidden))
    X = rng.normal(size=(8, sizes[0]))
    check_against_torch(net, cost, X, targets(cost, 8, sizes[-1], rng))


@pytest.mark.parametrize(("output", "cost"), [("softplus", "quadratic"), ("softmax", "log_likelihood"),
                                              ("sigmoid", "cross_entropy")])
def test_softplus_gradient_equals_autograd_to_1e_10(output, cost):
    """Network.gradient through softplus layers (and a softplus output) against autograd of
    torch.nn.functional.softplus, 1e-10 relative in float64; |z| stays below torch's threshold 20."""
    rng = np.random.default_rng(17)
    sizes = [5, 8, 6, 4]
    net = Network(sizes, activation=["softplus", "softplus", output], cost=cost, seed=6)
    X = rng.normal(size=(13, sizes[0])) * 3
    Y = targets(cost, 13, sizes[-1], rng)
    _, _, t_nabla_b, t_nabla_w = torch_gradients(net, cost, X, Y)
    X_checked, Y_checked = net.check_XY(X, Y)
    nabla_b, nabla_w = net.gradient(X_checked, Y_checked)
    for i in range(net.num_layers):
        assert_close(nabla_w[i], t_nabla_w[i], f"nabla_w[{i}]", rel_tol=1e-10)
        assert_close(nabla_b[i], t_nabla_b[i], f"nabla_b[{i}]", rel_tol=1e-10)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_log_likelihood_with_probability_rows_matches_autograd(output):
    rng = np.random.default_rng(7)
    net = Network([3, 8, 5], activation=["tanh", output], cost="log_likelihood", seed=3)
    X = rng.normal(size=(9, 3))
    check_against_torch(net, "log_likelihood", X, targets("log_likelihood", 9, 5, rng,
                                                          kind="probabilities"))


@pytest.mark.parametrize(("output", "cost"), [("softmax", "log_likelihood"),
                                              ("sigmoid", "cross_entropy"),
                                              ("linear", "quadratic")])
def test_integer_labels_are_one_hot_targets(output, cost):
    rng = np.random.default_rng(11)
    net = Network([4, 7, 6], activation=["relu", output], cost=cost, seed=5)
    X = rng.normal(size=(12, 4))
    labels = rng.integers(0, 6, 12)
    check_against_torch(net, cost, X, np.eye(6)[labels], Y_given=labels)


def test_single_example_and_single_units():
    rng = np.random.default_rng(2)
    net = Network([1, 1, 1], activation="tanh", output_activation="sigmoid",
                  cost="cross_entropy", seed=9)
    X, Y = rng.normal(size=(1, 1)), rng.uniform(size=(1, 1))
    check_against_torch(net, "cross_entropy", X, Y)


def test_large_batch_deep_net():
    rng = np.random.default_rng(4)
    sizes = [20, 32, 16, 16, 8, 10]
    net = Network(sizes, activation=["relu", "tanh", "leaky_relu", "sigmoid", "softmax"],
                  cost="log_likelihood", init="he", seed=4)
    X = rng.normal(size=(200, 20))
    check_against_torch(net, "log_likelihood", X, targets("log_likelihood", 200, 10, rng))


def test_regularized_cost_matches_torch():
    rng = np.random.default_rng(5)
    net = Network([3, 4, 2], activation=["sigmoid", "softmax"], cost="log_likelihood", seed=1)
    X, Y = rng.normal(size=(6, 3)), targets("log_likelihood", 6, 2, rng)
    z, a, Ws, _ = torch_forward(net, X)
    lmbda, n = 0.7, 50
    loss = torch_loss("log_likelihood", "softmax", z, a, torch.tensor(Y))
    loss = loss + lmbda / (2 * n) * sum((W**2).sum() for W in Ws)
    assert net.cost(X, Y, lmbda=lmbda, n=n) == pytest.approx(loss.item(), rel=1e-13, abs=1e-13)
    # n defaults to the number of rows
    loss_m = torch_loss("log_likelihood", "softmax", z, a, torch.tensor(Y)) + lmbda / (2 * 6) * sum(
        (W**2).sum() for W in Ws)
    assert net.cost(X, Y, lmbda=lmbda) == pytest.approx(loss_m.item(), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize(("output", "cost"), [("softmax", "log_likelihood"),
                                              ("sigmoid", "cross_entropy"),
                                              ("tanh", "quadratic")])
def test_float32_matches_autograd_and_stays_float32(output, cost):
    rng = np.random.default_rng(6)
    sizes = [6, 10, 7, 4]
    net = Network(sizes, activation=["tanh", "relu", output], cost=cost, seed=2, dtype="float32")
    X = rng.normal(size=(16, 6)).astype(np.float32)
    Y = targets(cost, 16, 4, rng).astype(np.float32)
    Ws = [torch.tensor(w, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    assert all(W.dtype == torch.float32 for W in Ws)
    a = torch.tensor(X)
    for W, b, name in zip(Ws, bs, net.activation_names, strict=True):
        z = a @ W.T + b
        a = TORCH_ACTIVATIONS[name](z)
    loss = torch_loss(cost, output, z, a, torch.tensor(Y))
    loss.backward()

    out = net.feedforward(X)
    assert out.dtype == np.float32
    nabla_b, nabla_w = net.backprop(X, Y)
    for i in range(net.num_layers):
        assert nabla_w[i].dtype == np.float32 and nabla_b[i].dtype == np.float32
        assert_close(nabla_w[i], W_grad := Ws[i].grad.numpy(), f"nabla_w[{i}]", abs_tol=1e-5,
                     rel_tol=1e-5)
        assert W_grad.dtype == np.float32
        assert_close(nabla_b[i], bs[i].grad.numpy(), f"nabla_b[{i}]", abs_tol=1e-5, rel_tol=1e-5)
    assert_close(out, a.detach().numpy(), "feedforward", abs_tol=1e-6, rel_tol=1e-5)
    assert net.cost(X, Y) == pytest.approx(loss.item(), rel=1e-5)


# -- saturated outputs of the non-canonical pairings ----------------------------------------------
#
# Mathematically these gradients are finite for every z: cross-entropy with softmax outputs has
# δ_i = a_i (v_i − Σ_j a_j v_j) with a_i v_i = (a_i − y_i) / (1 − a_i), and log-likelihood with
# sigmoid outputs has δ_j = −y_j (1 − a_j). The oracle evaluates ln a and ln(1 − a) from z, exact
# where a itself rounds to 0 or 1.


@pytest.mark.parametrize(
    ("output", "cost", "scale", "dtype"),
    [
        ("softmax", "cross_entropy", 25.0, "float64"),  # 1 − a ≈ 1e-11: cancellation
        ("softmax", "cross_entropy", 40.0, "float64"),  # a rounds to exactly 1.0
        ("softmax", "cross_entropy", 20.0, "float32"),
        ("sigmoid", "log_likelihood", 800.0, "float64"),  # a underflows to 0 (|z| <= 1e3)
        ("sigmoid", "log_likelihood", 110.0, "float32"),
    ],
)
def test_saturated_noncanonical_pairings_have_finite_exact_gradients(output, cost, scale, dtype):
    # One layer, z = scale * x W^T: two rows, each strongly favouring a different unit.
    W = np.array([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]])
    b = np.zeros(3)
    net = Network.from_parameters([W * scale], [b], output_activation=output, cost=cost, dtype=dtype)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    Y = np.array([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]])
    Wt = torch.tensor(net.weights[0].astype(np.float64), requires_grad=True)
    bt = torch.tensor(net.biases[0].astype(np.float64), requires_grad=True)
    z = torch.tensor(X) @ Wt.T + bt
    loss = torch_loss(cost, output, z, TORCH_ACTIVATIONS[output](z), torch.tensor(Y))
    loss.backward()
    nabla_b, nabla_w = net.backprop(X, Y)
    assert np.all(np.isfinite(nabla_w[0])) and np.all(np.isfinite(nabla_b[0])), nabla_w[0]
    tol = 1e-10 if dtype == "float64" else 1e-5
    assert_close(nabla_w[0].astype(np.float64), Wt.grad.numpy(), "nabla_w[0]", tol, tol)
    assert_close(nabla_b[0].astype(np.float64), bt.grad.numpy(), "nabla_b[0]", tol, tol)
    assert net.cost(X, Y) == pytest.approx(loss.item(), rel=1e-6)


@pytest.mark.parametrize(("output", "cost"), PAIRINGS)
def test_sample_weighted_gradient_equals_autograd_of_the_weighted_cost(output, cost):
    """backprop(X, Y, sample_weight=s) is ∇ of Σ_x s_x C_x / Σ_x s_x."""
    rng = np.random.default_rng(7)
    net = Network([4, 5, 3], activation="tanh", output_activation=output, cost=cost, seed=3)
    X = rng.normal(size=(9, 4))
    Y = targets(cost, 9, 3, rng)
    weights = rng.uniform(0.0, 3.0, size=9)
    weights[2] = 0.0
    z, a, Ws, bs = torch_forward(net, X)
    per_row = torch_loss_per_row(cost, output, z, a, torch.tensor(Y))
    s = torch.tensor(weights)
    ((per_row * s).sum() / s.sum()).backward()
    nabla_b, nabla_w = net.backprop(X, Y, sample_weight=weights)
    for ours, theirs in zip(nabla_b + nabla_w, bs + Ws, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=REL_TOL, atol=ABS_TOL)


def torch_loss_per_row(cost: str, output: str, z, a, y):
    """C_x of each row (the mean of these is ``torch_loss``)."""
    return torch.stack([torch_loss(cost, output, z[i:i + 1], a[i:i + 1], y[i:i + 1])
                        for i in range(z.shape[0])])
