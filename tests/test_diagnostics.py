import numpy as np
import pytest
from helpers import HIDDEN, PAIRINGS, make_network, random_problem

from deltaprop import Network
from deltaprop.diagnostics import gradcheck, learning_speed
from deltaprop.monitoring import saturation

ARCHITECTURES = [[4, 3], [5, 7, 3], [6, 8, 5, 4], [3, 9, 2, 6, 3]]


def _conditioned_problem(sizes, output, cost):
    """The first seeded problem whose every layer has max |∂C/∂w| >= 1e-3.

    At eps = 1e-6 the finite differences carry round-off of about 1e-10 in absolute terms, so a
    layer with vanishing gradients would measure that round-off rather than backprop.
    """
    hidden = [HIDDEN[(i + len(output)) % len(HIDDEN)] for i in range(len(sizes) - 2)]
    for seed in range(20):
        net = make_network(sizes, hidden + [output], None, cost, seed=seed)
        X, Y = random_problem(sizes, 7, cost, np.random.default_rng(seed))
        if min(np.abs(g).max() for g in net.backprop(X, Y)[1]) >= 1e-3:
            return net, X, Y
    raise AssertionError(f"no well-conditioned problem for {sizes} {output} {cost}")


@pytest.mark.parametrize(("output", "cost"), PAIRINGS)
@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "x".join(map(str, s)))
def test_gradcheck_every_pairing_and_depth(output, cost, sizes):
    net, X, Y = _conditioned_problem(sizes, output, cost)
    result = gradcheck(net, X, Y)
    assert result.max_error < 1e-7, [(lc.weight_error, lc.bias_error) for lc in result.layers]
    assert len(result.layers) == len(sizes) - 1


def test_gradcheck_catches_a_wrong_gradient(monkeypatch):
    net = Network([4, 5, 3], seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 4)), rng.uniform(size=(6, 3))
    original = Network.gradient

    def off_by_a_bit(self, X, Y, masks=None):
        nabla_b, nabla_w = original(self, X, Y, masks)
        nabla_w[0] = nabla_w[0] * 1.001
        return nabla_b, nabla_w

    monkeypatch.setattr(Network, "gradient", off_by_a_bit)
    result = gradcheck(net, X, Y)
    assert result.layers[0].weight_error > 1e-4
    assert result.layers[1].weight_error < 1e-7


def test_gradcheck_counts_evaluations_and_samples():
    net = Network([10, 8, 4], seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(5, 10)), rng.uniform(size=(5, 4))
    full = gradcheck(net, X, Y)
    assert full.finite_difference_evaluations == 2 * net.num_parameters
    assert full.backprop_evaluations == 1
    assert full.finite_difference_seconds > full.backprop_seconds
    sampled = gradcheck(net, X, Y, max_params=20, seed=1)
    assert sum(layer.checked for layer in sampled.layers) == 20
    assert sampled.finite_difference_evaluations == 40
    again = gradcheck(net, X, Y, max_params=20, seed=1)  # the sample is seeded
    assert [lc.checked for lc in again.layers] == [lc.checked for lc in sampled.layers]
    assert [lc.weight_error for lc in again.layers] == [lc.weight_error for lc in sampled.layers]


def test_gradcheck_leaves_parameters_untouched():
    net = Network([3, 4, 2], seed=0)
    before = [w.copy() for w in net.weights] + [b.copy() for b in net.biases]
    rng = np.random.default_rng(0)
    gradcheck(net, rng.normal(size=(4, 3)), rng.uniform(size=(4, 2)))
    after = net.weights + net.biases
    assert all(np.array_equal(x, y) for x, y in zip(before, after, strict=True))


def test_gradcheck_rejects_bad_eps():
    net = Network([2, 2], seed=0)
    with pytest.raises(ValueError, match="eps must be"):
        gradcheck(net, np.ones((1, 2)), np.ones((1, 2)), eps=0)


def test_learning_speed_is_the_norm_of_the_bias_gradient():
    assert learning_speed([np.array([3.0, 4.0]), np.array([0.0])]) == [5.0, 0.0]


def test_saturation_counts_flat_sigmoids_and_dead_relus():
    net = Network([2, 3, 2], activation=["relu", "sigmoid"], seed=0)
    net.weights[0][:] = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    net.biases[0][:] = [0.0, 0.0, -1.0]  # unit 3 is dead on non-negative inputs
    net.weights[1][:] = [[100.0, 100.0, 0.0], [0.0, 0.0, 0.0]]
    net.biases[1][:] = 0.0
    X = np.array([[1.0, 1.0], [2.0, 0.5]])
    hidden, output = saturation(net, X)
    assert hidden == pytest.approx(1 / 3)
    assert output == pytest.approx(0.5)  # the first output unit saturates, the second does not
