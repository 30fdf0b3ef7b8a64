"""Optimizers against torch.optim: the same parameters and gradients give the same steps (1e-12)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deltaprop.optimizers import OPTIMIZERS, SGD, Adam, RMSprop

STEPS = 20
N = 50  # training rows: L2's λ/n is torch's weight_decay


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (2, 4)]
    weights = [rng.normal(size=s) for s in shapes]
    biases = [rng.normal(size=s[0]) for s in shapes]
    grads = [([rng.normal(size=s) for s in shapes], [rng.normal(size=s[0]) for s in shapes])
             for _ in range(STEPS)]
    return weights, biases, grads


def _torch_steps(weights, biases, grads, make):
    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tb = [torch.tensor(b, requires_grad=True) for b in biases]
    optimizer = make(tw, tb)
    for grad_w, grad_b in grads:
        for p, g in zip(tw + tb, grad_w + grad_b, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
    return [p.detach().numpy() for p in tw + tb]


def _our_steps(weights, biases, grads, optimizer):
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    for grad_w, grad_b in grads:  # copies: an optimizer may overwrite the gradients
        optimizer.step(weights, biases, [g.copy() for g in grad_w], [g.copy() for g in grad_b])
    return weights + biases


CASES = {
    "sgd": (dict(eta=0.1), dict(lr=0.1)),
    "sgd+l2": (dict(eta=0.1, lmbda=5.0), dict(lr=0.1, weight_decay=5.0 / N)),
    "momentum": (dict(eta=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9)),
    "momentum+l2": (dict(eta=0.05, lmbda=2.0, momentum=0.5),
                    dict(lr=0.05, momentum=0.5, weight_decay=2.0 / N)),
    "nesterov": (dict(eta=0.1, momentum=0.9, nesterov=True),
                 dict(lr=0.1, momentum=0.9, nesterov=True)),
    "nesterov+l2": (dict(eta=0.1, lmbda=3.0, momentum=0.8, nesterov=True),
                    dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=3.0 / N)),
}


@pytest.mark.parametrize("case", CASES)
def test_sgd_equals_torch_sgd(case):
    ours, theirs = CASES[case]
    weights, biases, grads = _problem()
    decay = theirs.pop("weight_decay", 0.0)

    def make(tw, tb):  # L2 on the weights only, as the book's cost has it
        return torch.optim.SGD([{"params": tw, "weight_decay": decay}, {"params": tb}], **theirs)

    expected = _torch_steps(weights, biases, grads, make)
    got = _our_steps(weights, biases, grads, SGD(n=N, **ours))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lmbda", [0.0, 4.0])
@pytest.mark.parametrize(("beta_1", "beta_2", "epsilon"), [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)])
def test_adam_equals_torch_adam(lmbda, beta_1, beta_2, epsilon):
    weights, biases, grads = _problem(1)

    def make(tw, tb):
        return torch.optim.Adam([{"params": tw, "weight_decay": lmbda / N}, {"params": tb}],
                                lr=0.01, betas=(beta_1, beta_2), eps=epsilon)

    expected = _torch_steps(weights, biases, grads, make)
    got = _our_steps(weights, biases, grads, Adam(0.01, lmbda, 0.0, N, beta_1=beta_1, beta_2=beta_2,
                                                       epsilon=epsilon))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-12)


RMSPROP_CASES = {
    "plain": (dict(eta=0.01), dict(lr=0.01)),
    "l2": (dict(eta=0.01, lmbda=4.0), dict(lr=0.01, weight_decay=4.0 / N)),
    "momentum": (dict(eta=0.01, momentum=0.9), dict(lr=0.01, momentum=0.9)),
    "centered": (dict(eta=0.01, centered=True), dict(lr=0.01, centered=True)),
    "centered+momentum+l2": (dict(eta=0.005, lmbda=2.0, momentum=0.5, centered=True, rho=0.9,
                                  epsilon=1e-3),
                             dict(lr=0.005, momentum=0.5, centered=True, alpha=0.9, eps=1e-3,
                                  weight_decay=2.0 / N)),
}


@pytest.mark.parametrize("case", RMSPROP_CASES)
def test_rmsprop_equals_torch_rmsprop(case):
    ours, theirs = RMSPROP_CASES[case]
    weights, biases, grads = _problem(4)
    decay = theirs.pop("weight_decay", 0.0)

    def make(tw, tb):
        return torch.optim.RMSprop([{"params": tw, "weight_decay": decay}, {"params": tb}], **theirs)

    theirs_copy = dict(theirs)
    expected = _torch_steps(weights, biases, grads, make)
    theirs.update(theirs_copy, weight_decay=decay)
    got = _our_steps(weights, biases, grads, RMSprop(n=N, **ours))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_rmsprop_has_torchs_defaults():
    optimizer = RMSprop()
    assert (optimizer.eta, optimizer.rho, optimizer.epsilon, optimizer.momentum, optimizer.centered) == (
        0.01, 0.99, 1e-8, 0.0, False)
    assert OPTIMIZERS["rmsprop"] is RMSprop


def test_an_optimizer_refuses_options_it_does_not_have():
    with pytest.raises(TypeError, match="rmsprop takes no option.*nesterov"):
        RMSprop(nesterov=True)


def test_l1_adds_the_sign_of_the_weights_to_their_gradient():
    weights, biases, grads = _problem(2)
    got = _our_steps(weights, biases, grads[:1], SGD(0.1, l1=2.0, n=N))
    grad_w, grad_b = grads[0]
    for w, g, new in zip(weights, grad_w, got[:2], strict=True):
        np.testing.assert_allclose(new, w - 0.1 * (g + 2.0 / N * np.sign(w)), rtol=0, atol=1e-15)
    for b, g, new in zip(biases, grad_b, got[2:], strict=True):
        np.testing.assert_allclose(new, b - 0.1 * g, rtol=0, atol=1e-15)


@pytest.mark.parametrize("make", [lambda: Adam(0.01, n=N),
                                  lambda: RMSprop(0.01, n=N, momentum=0.5, centered=True)])
def test_state_round_trip_continues_exactly(make):
    weights, biases, grads = _problem(3)
    straight = _our_steps(weights, biases, grads, make())
    first = make()
    halfway = _our_steps(weights, biases, grads[:10], first)
    second = make()
    second.load_state(*first.state())
    resumed = _our_steps(halfway[:2], halfway[2:], grads[10:], second)
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: SGD(0.0), "eta"), (lambda: SGD(0.1, momentum=1.0), "momentum"),
    (lambda: SGD(0.1, nesterov=True), "nesterov"), (lambda: Adam(0.1, beta_1=1.0), "beta_1"),
    (lambda: Adam(0.1, epsilon=0.0), "epsilon"), (lambda: SGD(0.1, lmbda=-1.0), "lmbda"),
])
def test_bad_settings_name_the_setting(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", [lambda: SGD(0.1, lmbda=2.0, n=N, momentum=0.9, nesterov=True),
                                  lambda: Adam(0.01, lmbda=2.0, n=N),
                                  lambda: Adam(0.01, n=N, sklearn_step=True),
                                  lambda: RMSprop(0.01, lmbda=1.0, n=N, momentum=0.5, centered=True)])
def test_one_gradient_vector_steps_exactly_as_separate_arrays(make):
    """Workspace.gradient's layout (weights, then biases): the update over one vector is the
    update over each array, bit for bit, and the slots' arrays are views of their vectors."""
    from deltaprop.workspace import vector_parts

    weights, biases, grads = _problem(5)
    separate = _our_steps(weights, biases, grads, make())
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    optimizer = make()
    shapes = [g.shape for g in grads[0][0] + grads[0][1]]
    for grad_w, grad_b in grads:
        gradient = np.concatenate([g.reshape(-1) for g in grad_w + grad_b])
        parts = vector_parts(gradient, shapes)
        optimizer.step(weights, biases, parts[:2], parts[2:], gradient)
    for a, b in zip(weights + biases, separate, strict=True):
        np.testing.assert_array_equal(a, b)
    for slot, arrays in optimizer.arrays.items():
        assert [a.shape for a in arrays] == shapes
        assert all(np.shares_memory(a, optimizer._vectors[slot]) for a in arrays)


def test_a_pickled_optimizer_continues_exactly_and_one_pickled_with_lists_of_slots_loads():
    import pickle

    weights, biases, grads = _problem(6)
    straight = _our_steps(weights, biases, grads, Adam(0.01, n=N))
    first = Adam(0.01, n=N)
    halfway = _our_steps(weights, biases, grads[:10], first)
    resumed = _our_steps(halfway[:2], halfway[2:], grads[10:], pickle.loads(pickle.dumps(first)))
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    old_style = Adam(0.01, n=N)  # as optimizers were pickled when each slot was a list of arrays
    state = {k: v for k, v in first.__dict__.items() if k not in ("_vectors", "_shapes")}
    state.update(arrays=first.arrays, _scratch=[np.empty_like(p) for p in halfway])
    old_style.__setstate__(state)
    resumed = _our_steps(halfway[:2], halfway[2:], grads[10:], old_style)
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
