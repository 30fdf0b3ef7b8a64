import json

import numpy as np
import pytest

import deltaprop
from deltaprop import Activation, Network, get_activation, register_activation
from deltaprop.activations import ACTIVATIONS, Softplus
from deltaprop.diagnostics import gradcheck

ELEMENTWISE = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softplus"]


@pytest.fixture
def restore_activations():
    """Activations a test registers are gone after it."""
    before = set(ACTIVATIONS)
    yield
    for name in set(ACTIVATIONS) - before:
        del ACTIVATIONS[name]


class Softsign(Activation):
    """σ(z) = z / (1 + |z|), σ'(z) = 1 / (1 + |z|)²: a custom activation, one class and its registration."""

    def __init__(self) -> None:
        super().__init__("softsign_test")

    def forward(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.copyto(out, z / (1 + np.abs(z)))
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.abs(z)) ** 2


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


def test_a_registered_activation_can_be_named_and_backprop_holds_for_it(restore_activations):
    register_activation(Softsign())
    net = Network([4, 6, 3], activation="softsign_test", output_activation="sigmoid", seed=3)
    rng = np.random.default_rng(1)
    result = gradcheck(net, rng.normal(size=(5, 4)), rng.uniform(size=(5, 3)))
    assert result.max_error < 1e-7


def test_a_registered_activation_is_a_command_line_choice_and_loads(restore_activations, tmp_path, capsys):
    """Registering is the only edit: --activation and its help, the model file and the sweep follow."""
    from deltaprop import cli
    from deltaprop.sweep.space import check_value

    register_activation(Softsign())
    assert cli.main(["train", "--help"]) == 0
    assert "softsign_test" in " ".join(capsys.readouterr().out.split())
    code = cli.main(["train", "--activation", "softsign-test", "--epochs", "1", "--quiet", "--no-plots",
                     "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["network"]["activations"] == ["softsign_test", "sigmoid"]
    net = deltaprop.load(tmp_path / "run" / "model.safetensors")  # the model file's schema knows it
    assert net.activation_names == ["softsign_test", "sigmoid"]
    assert check_value("fixed.activation", "activation", "softsign_test") == "softsign_test"


def test_unknown_activation_names_the_choices_and_the_closest():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        get_activation("swish")
    with pytest.raises(ValueError, match="did you mean 'softplus'"):
        get_activation("softplu")
    assert get_activation("leaky-relu") is ACTIVATIONS["leaky_relu"]  # hyphens read as underscores


def test_register_rejects_an_activation_without_derivative():
    with pytest.raises(ValueError, match="needs a derivative or a jvp"):
        register_activation(Activation("broken", np.tanh))


PLAIN_FORMULAS = {  # σ(z) and σ'(z) written out, the oracle of the in-place kernels
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "softplus": (lambda z: np.log(1 + np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("size", [(3, 7), (60, 50)])  # small and large (float32 sigmoid's two forms)
def test_in_place_kernels_equal_their_plain_formulas(name, dtype, size):
    act, (function, derivative) = get_activation(name), PLAIN_FORMULAS[name]
    rng = np.random.default_rng(1)
    z = (rng.normal(size=size) * 3).astype(dtype)
    z[0, 0] = 0.0  # the ReLUs' kink: σ'(0) = 0 (relu) and 0.01 (leaky_relu)
    tolerance = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=2e-6, atol=2e-7)
    z64 = z.astype(np.float64)
    out = np.empty_like(z)
    assert act.forward(z, out) is out and out.dtype == z.dtype
    np.testing.assert_allclose(out, function(z64), **tolerance)
    in_place = z.copy()
    act.forward(in_place, in_place)  # out may be z itself
    np.testing.assert_array_equal(in_place, out)
    delta = rng.normal(size=size).astype(dtype)
    # σ' from a (a(1 − a), 1 − a²) is the kernel's formula; in float32 it inherits a's rounding
    expected = delta.astype(np.float64) * act.derivative(z64, out.astype(np.float64))
    scratch = np.full_like(z, np.nan)
    act.multiply_derivative(z, out, delta, scratch)
    np.testing.assert_allclose(delta, expected, **tolerance)
    if dtype == "float64":
        np.testing.assert_allclose(act.derivative(z, out), derivative(z64), **tolerance)


def test_softmax_kernel_equals_its_formula():
    z = np.random.default_rng(2).normal(size=(4, 6)) * 5
    out = get_activation("softmax").forward(z, np.empty_like(z))
    np.testing.assert_allclose(out, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-13)


def test_activations_pickle_and_keep_working():
    import pickle

    for name, act in ACTIVATIONS.items():
        copy = pickle.loads(pickle.dumps(act))
        z = np.linspace(-2, 2, 10).reshape(2, 5)
        np.testing.assert_array_equal(copy(z), act(z), err_msg=name)


def test_softplus_is_registered_and_never_overflows():
    act = get_activation("softplus")
    assert isinstance(act, Softplus) and act.elementwise and not act.outputs_probabilities
    z = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        a = act(z)
        slope = act.derivative(z, a)
    np.testing.assert_allclose(a, [[0.0, np.exp(-40.0), np.log(2.0), 40.0, 1000.0]], rtol=1e-15, atol=0)
    np.testing.assert_allclose(slope, [[0.0, np.exp(-40.0), 0.5, 1.0, 1.0]], rtol=1e-15, atol=0)


def test_softplus_saturation_counts_dead_units():
    # σ'(z) < 1% where z < ln(1/99) ≈ −4.595: unit 0 on every row, unit 1 on one row only
    z = np.array([[-4.7, -5.0, 0.0], [-9.0, 3.0, -6.0]])
    act = get_activation("softplus")
    assert act.saturation(z, act(z)) == pytest.approx(1 / 3)


def test_train_with_softplus(tmp_path, capsys):
    from deltaprop import cli

    code = cli.main(["train", "--activation", "softplus", "--epochs", "1", "--quiet", "--no-plots",
                     "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    net = deltaprop.load(tmp_path / "run" / "model.safetensors")
    assert net.activation_names == ["softplus", "sigmoid"]
    assert isinstance(net.activations[0], Softplus)
