import warnings

import numpy as np
import pytest

from deltaprop import get_activation, get_cost
from deltaprop.costs import Cost


def _general_delta(cost, z, a, y, act):
    """BP1 without any simplification."""
    return Cost.delta(cost, z, a, y, act)


@pytest.mark.parametrize(("cost_name", "act_name"),
                         [("cross_entropy", "sigmoid"), ("log_likelihood", "softmax")])
def test_simplified_delta_equals_general_bp1(cost_name, act_name):
    rng = np.random.default_rng(0)
    cost, act = get_cost(cost_name), get_activation(act_name)
    z = rng.normal(size=(6, 4))
    a = act(z)
    y = np.eye(4)[rng.integers(0, 4, 6)]
    assert np.allclose(cost.delta(z, a, y, act), a - y, atol=1e-15)
    assert np.allclose(cost.delta(z, a, y, act), _general_delta(cost, z, a, y, act), atol=1e-12)


@pytest.mark.parametrize("cost_name", ["quadratic", "cross_entropy", "log_likelihood"])
@pytest.mark.parametrize("act_name", ["sigmoid", "softmax"])
def test_cost_values_are_finite_and_silent_for_huge_z(cost_name, act_name):
    cost, act = get_cost(cost_name), get_activation(act_name)
    z = np.array([[1e3, -1e3, 0.0], [-1e3, 1e3, 5.0]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        values = cost.value(z, act(z), y, act)
    assert values.shape == (2,)
    assert np.all(np.isfinite(values))
    if cost_name != "quadratic":
        assert np.all(values > 100)  # confidently wrong outputs cost a lot, not inf or nan


def test_cross_entropy_value_matches_its_definition():
    rng = np.random.default_rng(2)
    act = get_activation("sigmoid")
    z = rng.normal(size=(5, 3))
    a = act(z)
    y = rng.uniform(size=(5, 3))
    expected = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=1)
    assert np.allclose(get_cost("cross_entropy").value(z, a, y, act), expected, rtol=1e-13)


def test_log_likelihood_value_is_minus_log_of_the_true_class():
    act = get_activation("softmax")
    z = np.array([[1.0, 2.0, 3.0]])
    a = act(z)
    value = get_cost("log_likelihood").value(z, a, np.array([[0.0, 1.0, 0.0]]), act)
    assert value[0] == pytest.approx(-np.log(a[0, 1]), rel=1e-14)


def test_quadratic_value_is_half_squared_norm():
    act = get_activation("linear")
    a = np.array([[1.0, 2.0]])
    assert get_cost("quadratic").value(a, a, np.array([[0.0, 0.0]]), act)[0] == 2.5


def test_cost_names_accept_hyphens_and_reject_unknown():
    assert get_cost("cross-entropy") is get_cost("cross_entropy")
    with pytest.raises(ValueError, match="unknown cost 'hinge'"):
        get_cost("hinge")


PAIRS = [(c, a) for c in ("quadratic",) for a in ("sigmoid", "tanh", "relu", "leaky_relu", "linear",
                                                   "softmax")]
PAIRS += [(c, a) for c in ("cross_entropy", "log_likelihood") for a in ("sigmoid", "softmax")]


@pytest.mark.parametrize(("cost_name", "act_name"), PAIRS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_delta_into_equals_delta(cost_name, act_name, dtype):
    """The in-place δ^L kernel of every pairing equals the plain BP1 of ``delta``."""
    rng = np.random.default_rng(3)
    cost, act = get_cost(cost_name), get_activation(act_name)
    z = rng.normal(size=(5, 4)).astype(dtype)
    a = act(z)
    y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 5)]
    out, scratch = np.empty_like(z), np.empty_like(z)
    assert cost.delta_into(z, a, y, act, out, scratch) is out
    expected = _general_delta(cost, z.astype(np.float64), act(z.astype(np.float64)),
                              y.astype(np.float64), act)
    tolerance = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(out, cost.delta(z, a, y, act).astype(dtype))
