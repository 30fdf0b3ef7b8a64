"""deltaprop.explain: one example traced through BP1-BP4, checked against the engine, torch and
finite differences; the sum over paths; the callouts; the JSON; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import deltaprop
from deltaprop import Network
from deltaprop.explanation import Explanation, explain

PAIRINGS = [
    ("sigmoid", "sigmoid", "quadratic"),
    ("tanh", "sigmoid", "cross_entropy"),
    ("relu", "softmax", "log_likelihood"),
    ("sigmoid", "softmax", "cross_entropy"),
    ("tanh", "linear", "quadratic"),
]
KEYS = ["sizes", "activations", "cost", "x", "y", "cost_value", "finite_difference_max_error", "layers"]
LAYER_KEYS = ["z", "a", "sigma_prime", "delta", "nabla_b", "nabla_w", "weights", "biases"]


def _net(activation: str, output: str, cost: str, sizes=(4, 5, 3, 3), seed: int = 3) -> Network:
    return Network(list(sizes), activation=activation, output_activation=output, cost=cost, seed=seed)


def _example(seed: int = 7, n: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 1.0, n)


def _torch_gradient(net: Network, x: np.ndarray, y: np.ndarray) -> tuple[float, list, list]:
    """C_x and its gradients by torch autograd, with the same parameters and formulas."""
    ws = [torch.tensor(w, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    fns = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
           "linear": lambda z: z, "softmax": lambda z: torch.softmax(z, dim=0)}
    a = torch.tensor(x)
    for w, b, name in zip(ws, bs, net.activation_names, strict=True):
        a = fns[name](w @ a + b)  # column-vector convention z = w a + b
    t = torch.tensor(y)
    cost = {"quadratic": lambda: 0.5 * torch.sum((a - t) ** 2),
            "cross_entropy": lambda: -torch.sum(t * torch.log(a) + (1 - t) * torch.log(1 - a)),
            "log_likelihood": lambda: -torch.sum(t * torch.log(a))}[net.cost_function.name]()
    cost.backward()
    return float(cost.detach()), [w.grad.numpy() for w in ws], [b.grad.numpy() for b in bs]


@pytest.mark.parametrize("pairing", PAIRINGS, ids=["-".join(p) for p in PAIRINGS])
def test_trace_matches_the_engine_torch_and_finite_differences(pairing) -> None:
    net = _net(*pairing)
    x, label = _example(), 2
    trace = explain(net, x, label, eta=0.3)
    Y = np.eye(3)[[label]]
    nabla_b, nabla_w = net.backprop(x[None], Y)  # the engine on a one-row batch: C_x's gradient
    cost, torch_w, torch_b = _torch_gradient(net, x, Y[0])
    for t, nb, nw, tw, tb in zip(trace.layers, nabla_b, nabla_w, torch_w, torch_b, strict=True):
        np.testing.assert_array_equal(t.nabla_b, nb)
        np.testing.assert_array_equal(t.nabla_w, nw)
        np.testing.assert_allclose(t.nabla_w, tw, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(t.nabla_b, tb, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(t.delta, t.nabla_b)  # BP3
    assert trace.cost_value == pytest.approx(cost, rel=1e-12)
    assert trace.finite_difference_max_error < 1e-6
    assert trace.engine_agreement < 1e-12  # BP1-BP4 by hand from the cost and activation objects
    assert trace.finite_difference["checked"] == net.num_parameters
    assert not trace.finite_difference["sampled"]


def test_bp1_shows_the_gradient_of_the_cost_and_sigma_prime() -> None:
    net = _net("sigmoid", "sigmoid", "quadratic")
    x = _example()
    trace = explain(net, x, [0.0, 1.0, 0.0])
    last = trace.layers[-1]
    np.testing.assert_allclose(trace.grad_a, last.a - np.array([0.0, 1.0, 0.0]))  # ∇_a C = a − y
    np.testing.assert_allclose(last.sigma_prime, last.a * (1 - last.a))
    np.testing.assert_allclose(last.delta, trace.grad_a * last.sigma_prime, rtol=1e-14)
    # BP2 by hand from the trace's own numbers
    hidden = trace.layers[-2]
    np.testing.assert_allclose(hidden.delta, (last.weights.T @ last.delta) * hidden.sigma_prime)
    # feedforward in the column-vector convention
    np.testing.assert_allclose(trace.layers[0].z, trace.layers[0].weights @ x + trace.layers[0].biases)


def test_cost_value_is_the_cost_of_one_example_not_a_mean() -> None:
    net = _net("sigmoid", "sigmoid", "quadratic")
    x, y = _example(), np.array([1.0, 0.0, 0.0])
    a = net.feedforward(x[None])[0]
    trace = explain(net, x, y)
    assert trace.cost_value == pytest.approx(0.5 * np.sum((a - y) ** 2), rel=1e-14)
    other = _example(seed=8)
    mean = net.cost(np.stack([x, other]), np.stack([y, y]))
    assert trace.cost_value != pytest.approx(mean)


def test_sgd_update_is_minus_eta_times_the_gradient_and_lowers_the_cost() -> None:
    net = _net("sigmoid", "sigmoid", "quadratic")
    x = _example()
    data = explain(net, x, 1, eta=0.5).to_dict()
    for layer in data["layers"]:
        np.testing.assert_allclose(layer["update_w"], -0.5 * np.array(layer["nabla_w"]))
        np.testing.assert_allclose(layer["update_b"], -0.5 * np.array(layer["nabla_b"]))
    stepped = net.copy()
    for w, b, layer in zip(stepped.weights, stepped.biases, data["layers"], strict=True):
        w += np.array(layer["update_w"])
        b += np.array(layer["update_b"])
    after = stepped.cost(x[None], [1])
    assert data["sgd_update"]["cost_after"] == pytest.approx(after, rel=1e-12)
    assert after < data["cost_value"]


def test_to_dict_has_the_issue_keys_shapes_and_exact_values() -> None:
    net = _net("sigmoid", "softmax", "log_likelihood", sizes=(4, 5, 3))
    x = _example()
    trace = explain(net, x, 0)
    data = json.loads(json.dumps(trace.to_dict(), allow_nan=False))
    assert list(data)[:len(KEYS)] == KEYS
    assert data["sizes"] == [4, 5, 3] and data["activations"] == ["sigmoid", "softmax"]
    assert data["cost"] == "log_likelihood" and data["y"] == [1.0, 0.0, 0.0]
    assert data["x"] == x.tolist()  # exact floats
    assert len(data["layers"]) == 2
    for layer, (n_in, n_out) in zip(data["layers"], net.layer_shapes(), strict=True):
        assert set(LAYER_KEYS) <= set(layer)
        assert np.shape(layer["weights"]) == (n_out, n_in)
        assert np.shape(layer["nabla_w"]) == (n_out, n_in)
        for key in ("z", "a", "delta", "nabla_b", "biases"):
            assert np.shape(layer[key]) == (n_out,)
    assert data["layers"][0]["weights"] == net.weights[0].tolist()
    assert data["layers"][1]["sigma_prime"] is None  # softmax couples its units
    assert np.shape(data["layers"][1]["jacobian"]) == (3, 3)
    assert data["cost_value"] == trace.cost_value


def test_path_sum_equals_bp4() -> None:
    net = _net("sigmoid", "sigmoid", "quadratic", sizes=(3, 4, 3, 2))
    trace = explain(net, _example(n=3), 1, path_weight=(1, 2, 1))
    p = trace.path_sum
    assert (p.layer, p.j, p.k, p.paths) == (1, 2, 1, 3 * 2)
    assert p.value == pytest.approx(p.bp4, rel=1e-12, abs=1e-15)
    assert p.bp4 == trace.layers[0].nabla_w[2, 1]
    assert len(p.largest) == 5 and all(len(path["neurons"]) == 3 for path in p.largest)
    softmax = explain(_net("tanh", "softmax", "log_likelihood"), _example(), 0, path_weight=(2, 1, 3))
    assert softmax.path_sum.value == pytest.approx(softmax.path_sum.bp4, rel=1e-12)


def test_path_sum_is_not_enumerated_when_there_are_too_many_paths() -> None:
    net = _net("sigmoid", "sigmoid", "quadratic", sizes=(3, 4, 3, 2))
    p = explain(net, _example(n=3), 1, max_paths=5).path_sum
    assert p.paths == 6 and p.value is None and "too many" in p.note


def test_large_nets_are_checked_on_a_documented_sample() -> None:
    net = Network([64, 30, 10], output_activation="sigmoid", cost="cross_entropy", seed=0)
    trace = explain(net, np.linspace(0, 1, 64), 3, max_checks=200)
    fd = trace.finite_difference
    assert fd["sampled"] and fd["checked"] == 200 and fd["parameters"] == net.num_parameters
    assert trace.finite_difference_max_error < 1e-6


def test_callout_saturated_quadratic_output() -> None:
    net = Network.from_parameters([np.array([[8.0, 0.0]]), np.array([[10.0], [-10.0]])],
                                  [np.zeros(1), np.zeros(2)], output_activation="sigmoid",
                                  cost="quadratic")
    trace = explain(net, [1.0, 0.5], [0.0, 1.0])  # both outputs saturated and wrong
    notes = [n for n in trace.callouts if "quadratic cost" in n]
    assert len(notes) == 1 and "learn slowly" in notes[0] and "wrong" in notes[0]
    right = explain(net, [1.0, 0.5], [1.0, 0.0]).callouts
    assert any("harmless" in n and "units 0, 1" in n for n in right)
    assert any("hidden layer 1" in n and "saturated" in n for n in trace.callouts)
    crossed = explain(Network.from_parameters(net.weights, net.biases, output_activation="sigmoid",
                                              cost="cross_entropy"), [1.0, 0.5], [0.0, 1.0])
    assert not any("quadratic" in n for n in crossed.callouts)
    assert any("cancels" in n for n in crossed.callouts)


def test_callout_low_activation_neurons_and_quiet_net() -> None:
    net = Network([3, 2, 2], output_activation="sigmoid", cost="quadratic", seed=0)
    trace = explain(net, [0.0, 0.7, 0.004], 0)
    notes = [n for n in trace.callouts if "inputs are below" in n]
    assert len(notes) == 1 and notes[0].startswith("2 of the 3") and "units 0, 2)" in notes[0]
    assert np.all(trace.layers[0].nabla_w[:, 0] == 0)  # what the callout says
    quiet = Network.from_parameters([np.zeros((2, 3)), np.zeros((2, 2))], [np.zeros(2), np.zeros(2)],
                                    output_activation="sigmoid", cost="quadratic")
    assert explain(quiet, [0.5, 0.5, 0.5], 0).callouts == []


def test_callout_dead_relu() -> None:
    net = Network.from_parameters([np.array([[-1.0, -1.0], [1.0, 1.0]]), np.ones((2, 2))],
                                  [np.zeros(2), np.zeros(2)], activation="relu",
                                  output_activation="sigmoid", cost="quadratic")
    notes = [n for n in explain(net, [0.5, 0.5], 0).callouts if "hidden layer 1" in n]
    assert len(notes) == 1 and "off" in notes[0] and "units 0)" in notes[0]


def test_float32_networks_are_traced_in_float64_and_left_unchanged() -> None:
    net = Network([3, 4, 2], output_activation="sigmoid", cost="quadratic", seed=0, dtype="float32")
    before = [w.copy() for w in net.weights]
    trace = explain(net, [0.2, 0.4, 0.6], 1)
    assert trace.layers[0].z.dtype == np.float64 and trace.finite_difference_max_error < 1e-6
    assert all(np.array_equal(w, b) for w, b in zip(net.weights, before, strict=True))


def test_saturated_cross_entropy_output_gives_null_gradient_and_no_warning(recwarn) -> None:
    net = Network.from_parameters([np.array([[60.0, 0.0], [-60.0, 0.0]])], [np.zeros(2)],
                                  output_activation="sigmoid", cost="cross_entropy")
    trace = explain(net, [1.0, 0.0], [0.0, 1.0])  # a_0 = 1.0 exactly in float64: ∇_a C = inf
    data = json.loads(json.dumps(trace.to_dict(), allow_nan=False))
    assert data["grad_a"][0] is None and data["grad_a"][1] < -1e20
    assert data["layers"][0]["delta"] == [1.0, -1.0]  # a − y: the cross-entropy cancels σ'
    assert trace.path_sum.value == pytest.approx(trace.path_sum.bp4)
    assert len(recwarn) == 0


def test_package_level_export() -> None:
    assert deltaprop.explain is explain and "explain" in deltaprop.__all__
    assert isinstance(deltaprop.explain(_net("sigmoid", "sigmoid", "quadratic"), _example(), 0),
                      Explanation)


BAD = [
    ({"x": np.zeros((1, 4))}, ValueError, "shape (4,)"),
    ({"x": np.zeros(3)}, ValueError, "x"),
    ({"y": 3}, ValueError, "y"),
    ({"y": np.zeros(2)}, ValueError, "y"),
    ({"y": np.zeros((1, 3))}, ValueError, "target vector"),
    ({"x": ["a", "b", "c", "d"]}, TypeError, "x"),
    ({"eta": 0}, ValueError, "eta"),
    ({"path_weight": (3, 0, 0)}, ValueError, "layer must be in 1..2"),
    ({"path_weight": (1, 5, 0)}, ValueError, "outside w^1"),
    ({"path_weight": (1, 0)}, TypeError, "three integers"),
    ({"net": "model"}, TypeError, "Network"),
    ({"max_checks": 0}, ValueError, "max_checks"),
    ({"eps": -1e-6}, ValueError, "eps"),
]


@pytest.mark.parametrize("case", range(len(BAD)), ids=[str(b[0]) for b in BAD])
def test_bad_input_raises_naming_what_is_wrong(case) -> None:
    given, error, fragment = BAD[case]
    arguments = {"net": _net("sigmoid", "softmax", "log_likelihood", sizes=(4, 5, 3)),
                 "x": _example(), "y": 1, **given}
    with pytest.raises(error) as info:
        explain(**arguments)
    assert fragment in str(info.value)
