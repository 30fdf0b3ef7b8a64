import numpy as np
import pytest

from deltaprop import Activation, Network, get_activation, register_activation
from deltaprop.activations import ACTIVATIONS
from deltaprop.diagnostics import gradcheck

ELEMENTWISE = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_differences(name):
    act = get_activation(name)
    z = np.linspace(-4, 4, 81) + 0.013  # avoid the kink of the ReLUs at exactly 0
    z = z[None, :]
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    assert np.allclose(act.derivative(z, act(z)), numeric, atol=1e-8)


def test_sigmoid_is_the_logistic_function_and_never_overflows():
    z = np.array([[-1000.0, -30.0, 0.0, 2.0, 1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        a = get_activation("sigmoid")(z)
    expected = 1 / (1 + np.exp(-np.clip(z, -700, 700)))
    assert np.allclose(a, expected, rtol=1e-14, atol=1e-300)


def test_softmax_rows_sum_to_one_and_jvp_matches_jacobian():
    act = get_activation("softmax")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5)) * 10
    a = act(z)
    assert np.allclose(a.sum(axis=1), 1.0)
    v = rng.normal(size=(3, 5))
    for row in range(3):
        jacobian = np.diag(a[row]) - np.outer(a[row], a[row])
        assert np.allclose(act.jvp(a, v)[row], jacobian @ v[row])


def test_softmax_survives_huge_inputs():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        a = get_activation("softmax")(np.array([[1000.0, -1000.0, 0.0]]))
    assert np.allclose(a, [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_float32_stays_float32(name):
    z = np.linspace(-3, 3, 12, dtype=np.float32).reshape(2, 6)
    act = get_activation(name)
    a = act(z)
    assert a.dtype == np.float32
    if act.elementwise:
        assert act.derivative(z, a).dtype == np.float32


def test_a_registered_activation_can_be_named_and_backprop_holds_for_it():
    softsign = Activation(
        "softsign_test",
        lambda z: z / (1 + np.abs(z)),
        lambda z, a: 1 / (1 + np.abs(z)) ** 2,
    )
    register_activation(softsign)
    try:
        net = Network([4, 6, 3], activation="softsign_test", output_activation="sigmoid", seed=3)
        rng = np.random.default_rng(1)
        result = gradcheck(net, rng.normal(size=(5, 4)), rng.uniform(size=(5, 3)))
        assert result.max_error < 1e-7
    finally:
        del ACTIVATIONS["softsign_test"]


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        get_activation("swish")


def test_register_rejects_an_activation_without_derivative():
    with pytest.raises(ValueError, match="needs a derivative or a jvp"):
        register_activation(Activation("broken", np.tanh))
