import numpy as np
import pytest

from deltaprop import Network
from deltaprop.optimizers import SGD
from deltaprop.training import fit

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _digits():
    from deltaprop.datasets import load_digits

    return load_digits()


def test_xor_is_learned():
    net = Network([2, 4, 1], activation="sigmoid", cost="cross_entropy", seed=0)
    history = fit(net, XOR_X, XOR_Y, epochs=2000, batch_size=4, eta=2.0, seed=0)
    assert history["train_cost"][-1] < 0.01
    assert net.cost(XOR_X, XOR_Y) < 0.01
    np.testing.assert_array_equal(np.round(net.feedforward(XOR_X)), XOR_Y)


def test_bundled_digits_reach_95_percent_within_30_epochs():
    data = _digits()
    net = Network([64, 30, 10], cost="cross_entropy", seed=0)
    history = fit(net, *data.train, epochs=30, batch_size=10, eta=0.5, seed=0,
                      validation_data=data.validation, test_data=data.test)
    assert history["test_accuracy"][-1] >= 0.95
    # the network holds the kept epoch, the one of the best validation accuracy (keep="best")
    assert history.kept()["validation_accuracy"] == max(history["validation_accuracy"])
    assert net.accuracy(*data.test) == pytest.approx(history.kept()["test_accuracy"])
    assert len(history) == 30


def test_history_records_every_field():
    data = _digits()
    net = Network([64, 20, 10], seed=0)
    seen = []
    history = fit(net, *data.train, epochs=2, batch_size=32, eta=1.0, seed=0,
                      validation_data=data.validation, test_data=data.test,
                      callbacks=[seen.append])
    assert seen == history.records
    record = history.records[-1]
    for key in ("train_cost", "train_accuracy", "validation_cost", "validation_accuracy",
                "test_cost", "test_accuracy", "eta", "seconds"):
        assert isinstance(record[key], float), key
    assert record["epoch"] == 2
    assert len(record["learning_speed"]) == 2 and all(s > 0 for s in record["learning_speed"])
    assert len(record["saturation"]) == 2 and all(0 <= s <= 1 for s in record["saturation"])


def test_shuffle_is_seeded_and_changes_the_result():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)

    def trained(seed, shuffle=True):
        net = Network([5, 6, 3], seed=1)
        fit(net, X, y, epochs=2, batch_size=7, eta=0.5, seed=seed, shuffle=shuffle)
        return net.weights[0]

    np.testing.assert_array_equal(trained(3), trained(3))
    assert not np.array_equal(trained(3), trained(4))
    np.testing.assert_array_equal(trained(3, shuffle=False), trained(4, shuffle=False))


def test_sgd_momentum_and_l1_follow_their_equations():
    net = Network([3, 2], seed=0)
    w0, b0 = net.weights[0].copy(), net.biases[0].copy()
    grads_b = [[np.array([0.1, -0.2])], [np.array([0.3, 0.1])]]
    grads_w = [[np.full((2, 3), 0.5)], [np.full((2, 3), -0.25)]]
    sgd = SGD(eta=0.1, n=10, lmbda=2.0, l1=1.0, momentum=0.9)
    v_w, v_b, w, b = np.zeros_like(w0), np.zeros_like(b0), w0.copy(), b0.copy()
    for nb, nw in zip(grads_b, grads_w, strict=True):
        sgd.step(net.weights, net.biases, [g.copy() for g in nw], [g.copy() for g in nb])
        v_w = 0.9 * v_w - 0.1 * (nw[0] + 2.0 / 10 * w + 1.0 / 10 * np.sign(w))
        v_b = 0.9 * v_b - 0.1 * nb[0]
        w, b = w + v_w, b + v_b
    np.testing.assert_allclose(net.weights[0], w, atol=1e-15)
    np.testing.assert_allclose(net.biases[0], b, atol=1e-15)


def test_dropout_gradient_matches_finite_differences_of_the_masked_network():
    rng = np.random.default_rng(0)
    net = Network([4, 6, 5, 3], activation="tanh", output_activation="sigmoid", seed=0)
    X, Y = rng.normal(size=(5, 4)), rng.uniform(size=(5, 3))
    masks = [(rng.random((5, 6)) > 0.5) * 2.0, (rng.random((5, 5)) > 0.5) * 2.0]

    def masked_cost():
        space = net.forward(X, masks=masks)
        zs, activations = space.zs, space.activations
        return np.mean(net.cost_function.value(zs[-1], activations[-1], Y, net.activations[-1]))

    nabla_b, nabla_w = net.gradient(X, Y, masks=masks)
    eps = 1e-6
    for param, grad in zip(net.weights + net.biases, nabla_w + nabla_b, strict=True):
        flat, flat_grad = param.reshape(-1), grad.reshape(-1)
        for index in range(flat.size):
            saved = flat[index]
            flat[index] = saved + eps
            plus = masked_cost()
            flat[index] = saved - eps
            minus = masked_cost()
            flat[index] = saved
            assert flat_grad[index] == pytest.approx((plus - minus) / (2 * eps), abs=1e-8)


def test_dropout_trains_and_is_off_at_evaluation():
    data = _digits()
    net = Network([64, 40, 10], cost="cross_entropy", seed=0)
    history = fit(net, *data.train, epochs=10, batch_size=10, eta=0.5, dropout=0.3, seed=0,
                      validation_data=data.validation)
    assert history["validation_accuracy"][-1] > 0.9
    np.testing.assert_array_equal(net.feedforward(data.test.X), net.feedforward(data.test.X))


def test_schedule_halves_eta_and_stops_at_eta0_over_128():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)  # noise: validation never improves long
    net = Network([3, 2], seed=0)
    history = fit(net, X, y, epochs=500, batch_size=10, eta=1.0, schedule=1, seed=0,
                      validation_data=(X[:5], y[:5]))
    etas = history["eta"]
    assert etas[0] == 1.0
    assert all(later in (earlier, earlier / 2) for earlier, later in zip(etas[:-1], etas[1:], strict=True))
    assert history.stop_reason.startswith("schedule")
    assert min(etas) == 1.0 / 64  # the epoch after which η fell to 1/128 ends the run
    assert len(history) < 500


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    net = Network([3, 2], seed=0)
    history = fit(net, X, y, epochs=300, batch_size=10, eta=0.1, early_stopping=3, seed=0,
                      validation_data=(X[:6], y[:6]))
    accuracies = history["validation_accuracy"]
    best_epoch = int(np.argmax(accuracies))
    assert history.stop_reason.startswith("early stopping")
    assert len(accuracies) == best_epoch + 1 + 3


def test_schedule_needs_validation_data():
    with pytest.raises(ValueError, match="validation_data"):
        fit(Network([2, 2]), np.ones((2, 2)), [0, 1], epochs=1, batch_size=1, eta=1.0, schedule=2)


def test_float32_training_stays_float32():
    data = _digits()
    net = Network([64, 10, 10], dtype="float32", seed=0)
    fit(net, data.train.X, data.train.y, epochs=1, batch_size=10, eta=1.0, momentum=0.5, l1=0.1,
            lmbda=0.1, dropout=0.2, seed=0)
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)


def test_running_train_metrics_are_the_mean_over_the_epochs_forward_passes():
    """The default train_cost/accuracy: each mini-batch's cost and hits before its own update."""
    from deltaprop import reference

    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(53, 6)), rng.integers(0, 3, 53)
    net = Network([6, 5, 3], cost="cross_entropy", seed=1)
    twin = net.copy()
    history = fit(net, X, y, epochs=1, batch_size=10, eta=0.7, shuffle=False)
    Y = np.eye(3)[y]
    costs, hits = [], 0
    for start in range(0, 53, 10):
        xb, yb = X[start:start + 10], Y[start:start + 10]
        costs.append(twin.cost_value(xb, yb) * len(xb))
        hits += int(np.sum(twin.predict(xb) == y[start:start + 10]))
        reference.update_mini_batch(twin, xb, yb, 0.7)
    assert history["train_cost"][0] == pytest.approx(sum(costs) / 53, rel=1e-12)
    assert history["train_accuracy"][0] == hits / 53
    full = fit(twin.copy(), X, y, epochs=1, batch_size=10, eta=0.7, shuffle=False,
               train_metrics="full")
    after = twin.copy()
    reference.sgd_epoch(after, X, Y, 10, 0.7)
    assert full["train_cost"][0] == pytest.approx(after.cost(X, y), rel=1e-12)


def test_sample_weights_equal_repeated_rows_in_a_full_batch():
    """Σ s_x C_x / Σ s_x with whole-number weights is the mean over rows repeated s_x times."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(12, 4)), rng.integers(0, 2, 12)
    weights = rng.integers(0, 4, 12)
    weights[0] = 1
    weighted, repeated = Network([4, 3, 2], seed=2), Network([4, 3, 2], seed=2)
    fit(weighted, X, y, weights, epochs=3, batch_size=12, eta=0.5, shuffle=False)
    fit(repeated, np.repeat(X, weights, axis=0), np.repeat(y, weights), epochs=3,
        batch_size=int(weights.sum()), eta=0.5, shuffle=False)
    for a, b in zip(weighted.weights + weighted.biases, repeated.weights + repeated.biases,
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="sample_weight must hold finite numbers >= 0"):
        fit(weighted, X, y, -weights, epochs=1)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(12,\)"):
        fit(weighted, X, y, weights[:5], epochs=1)


@pytest.mark.parametrize("options", [dict(optimizer="adam", eta=0.01),
                                     dict(momentum=0.9, nesterov=True, eta=0.1)])
def test_adam_and_nesterov_train_digits(options):
    data = _digits()
    net = Network([64, 30, 10], cost="cross_entropy", seed=0)
    history = fit(net, *data.train, epochs=5, batch_size=10, seed=0,
                  validation_data=data.validation, **options)
    assert history["validation_accuracy"][-1] > 0.9


def test_fit_never_copies_the_training_data():
    """Mini-batches are gathered by index: the peak allocation stays far below the data's size."""
    import tracemalloc

    rng = np.random.default_rng(6)
    X, y = rng.random((20_000, 784)), rng.integers(0, 10, 20_000)  # 125 MB of float64
    net = Network([784, 30, 10], seed=0)
    tracemalloc.start()
    try:
        fit(net, X, y, epochs=1, batch_size=10, eta=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * X.nbytes, f"fit allocated {peak / 1e6:.1f} MB on {X.nbytes / 1e6:.0f} MB of data"


def test_networks_pickle_and_keep_their_predictions():
    import pickle

    net = Network([5, 4, 3], activation="leaky_relu", output_activation="softmax",
                  cost="log_likelihood", seed=0)
    copy = pickle.loads(pickle.dumps(net))
    X = np.random.default_rng(0).normal(size=(6, 5))
    np.testing.assert_array_equal(copy.feedforward(X), net.feedforward(X))


# -- defaults, verbosity and the unscaled-input warning (issue 13, items 6, 9, 10) ---------------


def _blobs(m=40, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(m) % 2
    return rng.uniform(size=(m, 4)) * scale + y[:, None] * scale * 0.5, y


def test_fit_shows_the_books_defaults_and_needs_nothing_else():
    import inspect

    parameters = inspect.signature(fit).parameters
    assert parameters["epochs"].default == 30 and parameters["batch_size"].default == 10
    assert parameters["verbose"].default == 0 and parameters["warn_unscaled"].default is True
    X, y = _blobs()
    history = fit(Network([4, 3, 2], seed=0), X, y)
    assert len(history) == 30


@pytest.mark.parametrize(("cost", "optimizer", "eta"), [
    ("quadratic", "sgd", 3.0), ("cross_entropy", "sgd", 0.5), ("log_likelihood", "sgd", 0.5),
    ("quadratic", "adam", 0.001),
])
def test_the_default_eta_suits_the_cost(cost, optimizer, eta):
    X, y = _blobs()
    net = Network([4, 3, 2], cost=cost, seed=0)
    fit(net, X, y, epochs=1, optimizer=optimizer)
    assert net.training_config["eta"] == eta
    fit(net, X, y, epochs=1, eta=0.25, optimizer=optimizer)
    assert net.training_config["eta"] == 0.25


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _blobs()
    fit(Network([4, 3, 2], seed=0), X, y, epochs=3, validation_data=(X, y))
    assert capsys.readouterr().out == ""  # quiet by default
    fit(Network([4, 3, 2], seed=0), X, y, epochs=3, verbose=2, validation_data=(X, y))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3 - ") and lines[2].startswith("epoch 3/3 - ")
    for field in ("train_cost: ", "train_accuracy: ", "validation_cost: ", "validation_accuracy: "):
        assert field in lines[-1]
    with pytest.raises(ValueError, match=r"verbose must be 0, 1 or 2 \(as Keras's\), got 3"):
        fit(Network([4, 3, 2], seed=0), X, y, epochs=1, verbose=3)


def test_verbose_lines_go_to_the_console_given_as_progress(capsys):
    import io

    from rich.console import Console

    buffer = io.StringIO()
    X, y = _blobs()
    fit(Network([4, 3, 2], seed=0), X, y, epochs=2, verbose=1, progress=Console(file=buffer))
    assert capsys.readouterr().out == ""
    assert "epoch 2/2 - " in buffer.getvalue()


def test_unscaled_inputs_warn_once_naming_their_range():
    from deltaprop.errors import UnscaledInputWarning

    X, y = _blobs(scale=16)
    with pytest.warns(UnscaledInputWarning, match=r"X ranges over \[0\.\d+, 2\d\.\d+\] .*far beyond "
                                                   r"\[0, 1\].*Scale the inputs") as caught:
        fit(Network([4, 3, 2], seed=0), X, y, epochs=2, validation_data=(X, y))
    assert len(caught) == 1 and caught[0].filename == __file__


@pytest.mark.parametrize("X", [
    np.random.default_rng(0).normal(size=(500, 4)),  # standardized, outliers near 3-4
    np.where(np.arange(2000).reshape(500, 4) % 97 == 0, 50.0, 0.0),  # sparse counts: mean |x| small
    _blobs(scale=5, m=500)[0],  # within a few units
])
def test_scaled_or_standardized_inputs_do_not_warn(X):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(Network([4, 3, 2], seed=0), X, np.arange(500) % 2, epochs=1)


def test_the_warning_can_be_switched_off_and_the_sklearn_drop_ins_never_warn():
    import warnings

    from deltaprop.errors import UnscaledInputWarning
    from deltaprop.sklearn import MLPClassifier

    X, y = _blobs(scale=255)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning after 2 iterations
        warnings.simplefilter("error", UnscaledInputWarning)
        fit(Network([4, 3, 2], seed=0), X, y, epochs=1, warn_unscaled=False)
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)


# -- one loop, many drivers: the trainer's hooks ----------------------------------------------------


def test_a_driver_brings_its_own_hooks_to_the_one_loop():
    """The loop asks the hooks for each epoch's order, shows them each mini-batch's forward pass
    before its update, and lets them stop after an epoch; the engine's own records are skipped."""
    from deltaprop.options import TrainingConfig
    from deltaprop.trainer import Trainer
    from deltaprop.training_data import TrainingData

    net = Network([2, 3, 2], seed=0)
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    trainer = Trainer(net, TrainingData(net, X, y, None, "training"),
                      TrainingConfig(epochs=5, batch_size=4, eta=0.5))
    calls = []

    class Hooks:
        def start_epoch(self):
            calls.append(("start", trainer.epoch))
            return np.arange(10)[::-1]

        def measure(self, space, Y, weights, weight_sum, labels, nabla_b):
            calls.append(("measure", trainer.batch, Y.shape[0], weight_sum))
            np.testing.assert_array_equal(labels, y[::-1][4 * trainer.batch:4 * trainer.batch + 4])
            np.testing.assert_array_equal(space.activations[-1], net.feedforward(X[::-1])[
                4 * trainer.batch:4 * trainer.batch + 4])  # before the update

        def after_step(self):
            calls.append(("step", trainer.batch))

        def end_epoch(self, seconds):
            calls.append(("end", trainer.epoch, trainer.batch))
            return trainer.epoch == 2

    trainer.hooks = Hooks()
    history = trainer.run()
    epoch = [("measure", 0, 4, 4), ("step", 1), ("measure", 1, 4, 4), ("step", 2),
             ("measure", 2, 2, 2), ("step", 3)]
    assert calls == [("start", 0), *epoch, ("end", 1, 0), ("start", 1), *epoch, ("end", 2, 0)]
    assert trainer.epoch == 2 and len(history) == 0 and trainer.sums.batches == 0
