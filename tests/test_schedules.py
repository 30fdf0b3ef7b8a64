"""The learning-rate schedules: one registry for fit's η schedule and scikit-learn's, each schedule
moving η as scikit-learn's own optimizer does, and the estimators' verbose lines unchanged."""

import numpy as np
import pytest
from sklearn import neural_network
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

from deltaprop.optimizers import SGD
from deltaprop.schedules import MIN_ETA_FRACTION, SCHEDULES, Schedule
from deltaprop.sklearn import MLPRegressor


def test_one_registry_holds_fits_schedule_and_scikit_learns():
    assert list(SCHEDULES) == ["halve", "constant", "invscaling", "adaptive"]
    assert all(issubclass(cls, Schedule) and cls.name == name for name, cls in SCHEDULES.items())
    with pytest.raises(ValueError, match="unknown schedule 'adaptiv'.*did you mean 'adaptive'"):
        SCHEDULES.get_entry("adaptiv")


def test_halve_halves_eta_on_each_stall_and_stops_at_eta0_over_128():
    optimizer, schedule = SGD(eta=0.8), SCHEDULES["halve"](0.8)
    schedule.after_epoch(optimizer, 1000)
    assert optimizer.eta == 0.8
    reasons = [schedule.stalled(optimizer) for _ in range(7)]
    assert reasons == [None] * 6 + ["schedule: eta fell to eta0/128"]
    assert optimizer.eta == 0.8 * MIN_ETA_FRACTION


@pytest.mark.parametrize("name", ["constant", "invscaling", "adaptive"])
def test_scikit_learns_schedules_move_eta_as_its_sgd_optimizer_does(name):
    theirs = SGDOptimizer([np.zeros(2)], learning_rate_init=0.1, lr_schedule=name, power_t=0.3)
    options = {"power_t": 0.3} if name == "invscaling" else {}
    ours, schedule = SGD(eta=0.1), SCHEDULES[name](0.1, **options)
    stopped = False
    for epoch in range(1, 61):
        theirs.iteration_ends(150 * epoch)
        schedule.after_epoch(ours, 150 * epoch)
        assert ours.eta == theirs.learning_rate
        if epoch % 3 == 0:  # a stall every third epoch
            stopped = theirs.trigger_stopping("stalled.", verbose=False)
            assert (schedule.stalled(ours) is not None) == stopped
            assert ours.eta == theirs.learning_rate
            if stopped:
                break
    assert stopped and epoch == (27 if name == "adaptive" else 3)  # 0.1 / 5^8 < 1e-6: the 9th stops


def test_the_estimators_stall_lines_are_scikit_learns(capsys):
    """verbose=True prints scikit-learn's lines, 'Setting learning rate to ...' and 'Stopping.'."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = X[:, 0] - X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=120)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", learning_rate="adaptive", tol=0.5,
                  n_iter_no_change=2, max_iter=40, random_state=0, verbose=True)
    lines = []
    for cls in (neural_network.MLPRegressor, MLPRegressor):
        cls(**params).fit(X, y)
        out = capsys.readouterr().out.splitlines()
        lines.append([line for line in out if not line.startswith("Iteration")])
    assert lines[0] == lines[1]
    assert any("Setting learning rate to" in line for line in lines[1])
    assert lines[1][-1].endswith("Learning rate too small. Stopping.")
