"""Checkpoints and exact resume: a resumed run ends bitwise equal to an uninterrupted one."""

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from deltaprop import Network, fit, io
from deltaprop.checkpoint import Checkpoint, checkpoint_file, load_checkpoint
from deltaprop.errors import ModelFormatError, TrainingDivergedError, TrainingInterrupted

OPTIONS = dict(epochs=4, batch_size=16, eta=0.3, lmbda=0.5, momentum=0.5, dropout=0.2,
               schedule=1, seed=11)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 12))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y, (X[:40], y[:40])


def _net():
    return Network([12, 10, 3], activation="tanh", output_activation="softmax",
                   cost="log_likelihood", seed=5)


def _same_parameters(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.weights + a.biases, b.weights + b.biases,
                                                    strict=True))


def _uninterrupted():
    X, y, validation = _data()
    net = _net()
    history = fit(net, X, y, validation_data=validation, **OPTIONS)
    return net, history


@pytest.mark.parametrize("stop_after", [1, 7, 13, 26, 40])
def test_resume_after_a_stop_request_is_bitwise_exact(tmp_path, stop_after):
    X, y, validation = _data()
    expected, expected_history = _uninterrupted()
    calls = iter(range(1, 10_000))
    net = _net()
    with pytest.raises(TrainingInterrupted, match="checkpoint saved") as stopped:
        fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
                should_stop=lambda: next(calls) >= stop_after, **OPTIONS)
    assert stopped.value.checkpoint_dir == str(tmp_path)
    resumed = _net()
    history = fit(resumed, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
                  resume=True)
    assert _same_parameters(resumed, expected)
    assert history["validation_accuracy"] == expected_history["validation_accuracy"]
    assert history["eta"] == expected_history["eta"]
    assert len(history) == len(expected_history)


def test_every_epoch_leaves_a_checkpoint_and_a_finished_run_resumes_to_itself(tmp_path):
    X, y, validation = _data()
    net = _net()
    epochs_seen = []
    fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            callbacks=[lambda record: epochs_seen.append(load_checkpoint(tmp_path).state["epoch"])],
            **OPTIONS)
    assert epochs_seen == [1, 2, 3, 4]
    again = _net()
    fit(again, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True)
    assert _same_parameters(again, net)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


TRAIN_SCRIPT = """
import os, sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_checkpoint import OPTIONS, _data, _net
from deltaprop import fit
from deltaprop.checkpoint import Checkpoint
X, y, validation = _data()
directory = sys.argv[1]
resume = directory if os.path.exists(os.path.join(directory, "checkpoint.safetensors")) else None
options = dict(OPTIONS, epochs=30) if resume is None else {{}}
net = _net()
fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(directory),
    resume=resume is not None, **options)
np.save(sys.argv[2], np.concatenate([p.ravel() for p in net.weights + net.biases]))
"""


def test_sigkill_at_random_moments_then_resume_is_bitwise_exact(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT.format(tests=os.path.dirname(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def run(directory, out, kill_after=None):
        process = subprocess.Popen([sys.executable, str(script), str(directory), str(out)], env=env)
        if kill_after is None:
            assert process.wait(timeout=120) == 0
            return
        time.sleep(kill_after)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    run(tmp_path / "straight", tmp_path / "straight.npy")
    expected = np.load(tmp_path / "straight.npy")
    rng = np.random.default_rng(2026)
    for attempt in range(4):
        directory = tmp_path / f"killed{attempt}"
        for kill_after in rng.uniform(0.3, 2.5, size=2):  # killed twice, at random moments
            run(directory, tmp_path / "unused.npy", kill_after)
        run(directory, tmp_path / f"resumed{attempt}.npy")
        np.testing.assert_array_equal(np.load(tmp_path / f"resumed{attempt}.npy"), expected)


def test_divergence_names_epoch_and_batch_and_keeps_the_last_good_checkpoint(tmp_path):
    X, y, _ = _data()
    net = Network([12, 10, 3], activation="relu", output_activation="linear", cost="quadratic", seed=0)

    def blow_up_after_epoch_2(record):
        if record["epoch"] == 2:
            net.weights[0] *= 1e200  # the next mini-batch overflows

    with pytest.raises(TrainingDivergedError,
                       match=r"epoch 3, between mini-batches 1 and \d+: .* try a smaller eta \(now 0.01\)"):
        fit(net, X, y, epochs=5, batch_size=16, eta=0.01, seed=0, checkpoint=Checkpoint(tmp_path),
                callbacks=[blow_up_after_epoch_2])
    saved = load_checkpoint(tmp_path)
    assert saved.state["epoch"] == 2
    assert all(np.all(np.isfinite(p)) for p in saved.net.weights + saved.net.biases)
    assert np.abs(saved.net.weights[0]).max() < 1e3


def test_divergence_from_too_large_eta_is_reported_not_a_numpy_warning():
    X, y, _ = _data()
    net = Network([12, 10, 3], activation="relu", output_activation="linear", cost="quadratic", seed=0)
    with warnings.catch_warnings(), pytest.raises(TrainingDivergedError):
        warnings.simplefilter("error")
        fit(net, X, np.eye(3)[y] * 1e3, epochs=50, batch_size=16, eta=0.5, seed=0)


def test_resume_refuses_other_data_other_options_and_other_networks(tmp_path):
    X, y, validation = _data()
    fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), **OPTIONS)
    with pytest.raises(ValueError, match="training data differ"):
        fit(_net(), X + 1, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            resume=True)
    with pytest.raises(ValueError, match="eta=0.1 differs"):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True,
            eta=0.1)
    with pytest.raises(ValueError, match="does not match the checkpoint"):
        fit(Network([12, 5, 3], seed=0), X, y, validation_data=validation,
            checkpoint=Checkpoint(tmp_path), resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(_net(), X, y, checkpoint=Checkpoint(tmp_path / "elsewhere"), resume=True)


def test_corrupt_or_lying_checkpoints_raise_model_format_error(tmp_path):
    X, y, validation = _data()
    fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), **OPTIONS)
    path = checkpoint_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError):
        load_checkpoint(tmp_path)
    _net_and_state = io.load_with_metadata
    for broken in ({"epoch": -1}, {"rng": {"bit_generator": "nope"}}, {"sums": {"nabla_b_sum": [1.0]}},
                   {"version": 99}, {"version": 1}, {"config": {"epochs": 0, "batch_size": 1}}):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), **OPTIONS)
        saved_net, meta, slots = _net_and_state(path)
        state = {**meta["checkpoint"], **broken}
        io.save(saved_net, path, extra_metadata={"checkpoint": state}, slots=slots)
        with pytest.raises(ModelFormatError):
            fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True)


# -- the schema of the state: every field, and their consistency -----------------------------------


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory):
    """(state, sizes, slots) of a checkpoint stopped in the middle of epoch 3 (sgd, momentum, schedule)."""
    directory = tmp_path_factory.mktemp("state")
    X, y, validation = _data()
    calls = iter(range(1, 10_000))
    with pytest.raises(TrainingInterrupted):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(directory),
            should_stop=lambda: next(calls) >= 30, **OPTIONS)
    _, meta, _ = io.load_with_metadata(checkpoint_file(directory))
    return meta["checkpoint"], meta["sizes"], meta["slots"]


def _set(path: str, value):
    """A change of the state: the field at the dotted ``path`` set to ``value`` (or removed)."""

    def change(state):
        *parents, last = path.split(".")
        for part in parents:
            state = state[int(part)] if isinstance(state, list) else state[part]
        if value is _REMOVE:
            del state[last]
        elif isinstance(state, list):
            state[int(last)] = value
        else:
            state[last] = value

    return change


_REMOVE = object()
STATE_CHANGES = {
    "version bool": (_set("version", True), "'version'"),
    "config extra": (_set("config.colour", 1), "unknown 'colour'"),
    "config invalid": (_set("config.epochs", 0), "'config': epochs must be an integer >= 1"),
    "config eta none": (_set("config.eta", None), "the stored eta must be a number"),
    "epoch float": (_set("epoch", 2.0), "'epoch': expected a valid integer"),
    "epoch beyond": (_set("epoch", 5), "'epoch' is 5, more than the 4 epochs"),
    "epoch vs history": (_set("epoch", 1), "'epoch' is 1, but the history holds 2 records"),
    "batch beyond": (_set("batch", 13), "'batch' is 13, but epoch 3 has 13 mini-batches"),
    "patience beyond": (_set("epochs_without_improvement", 3), "'epochs_without_improvement' is 3"),
    "optimizer name": (_set("optimizer.name", "adam"), "'optimizer.name' is 'adam'"),
    "optimizer unknown": (_set("optimizer.name", "lion"), "unknown optimizer 'lion'"),
    "eta negative": (_set("optimizer.eta", -1), "'optimizer.eta': expected greater than 0, found -1"),
    "eta infinite": (_set("optimizer.eta", float("inf")), "'optimizer.eta': expected a finite number"),
    "eta off schedule": (_set("optimizer.eta", 0.2), "'optimizer.eta' is 0.2, expected the configured"),
    "t for sgd": (_set("optimizer.t", 3), "'optimizer.t' is 3, expected 30 (the steps taken)"),
    "unknown optimizer field": (_set("optimizer.lr", 3), "unknown field 'optimizer.lr'"),
    "best validation": (_set("best_validation", 0.99), "'best_validation' is 0.99"),
    "best validation range": (_set("best_validation", 2), "'best_validation': expected less than or"),
    "rng -1": (_set("rng.state.state", -1), "'rng.state.state'"),
    "rng 2**200": (_set("rng.state.state", 2**200), "'rng.state.state': expected less than"),
    "rng even inc": (_set("rng.state.inc", 2), "a PCG64 increment is odd"),
    "rng other generator": (_set("rng.bit_generator", "MT19937"), "'rng.bit_generator': expected 'PCG64'"),
    "rng other stream": (_set("rng_epoch_start.state.inc", 3), "states of one generator"),
    "rng has_uint32": (_set("rng.has_uint32", 2), "'rng.has_uint32'"),
    "sums batches": (_set("sums.batches", 0), "'sums' count 0 mini-batches"),
    "sums nabla": (_set("sums.nabla_b_sum", [[0.0]] * 2), "'sums.nabla_b_sum' must hold one sum per unit"),
    "sums labels": (_set("sums.has_labels", 1), "'sums.has_labels': expected a valid boolean"),
    "records string": (_set("history.records", "abc"), "'history.records': expected a valid list"),
    "records ints": (_set("history.records", [1, 2]), "'history.records.0': expected a valid dictionary"),
    "record epoch": (_set("history.records.1.epoch", 1), "'history.records.1.epoch' is 1, expected 2"),
    "record key": (_set("history.records.0.colour", 1), "unknown field 'history.records.0.colour'"),
    "record missing": (_set("history.records.0.eta", _REMOVE), "required field 'history.records.0.eta'"),
    "record speeds": (_set("history.records.0.learning_speed", [1.0]), "lists 1 values, expected one per"),
    "record saturation": (_set("history.records.0.saturation", [2.0, None]), "saturation.0"),
    "stop reason": (_set("history.stop_reason", ""), "'history.stop_reason'"),
    "data empty": (_set("data", {}), "required field 'data.rows'"),
    "data digest": (_set("data.blake2b", "xyz"), "'data.blake2b': String should match pattern"),
    "data columns": (_set("data.columns", 11), "'data.columns' is 11, but the network takes 12"),
    "extra list": (_set("extra", []), "'extra': expected a valid dictionary"),
    "unknown field": (_set("colour", "red"), "unknown field 'colour'"),
}


@pytest.mark.parametrize("case", list(STATE_CHANGES), ids=list(STATE_CHANGES))
def test_every_field_of_the_state_is_checked(saved_state, case):
    import copy

    from deltaprop.checkpoint_schema import validate_state

    state, sizes, slots = saved_state
    validate_state(copy.deepcopy(state), sizes, slots)  # the state as saved is valid
    change, fragment = STATE_CHANGES[case]
    broken = copy.deepcopy(state)
    change(broken)
    with pytest.raises(ValueError) as info:
        validate_state(broken, sizes, slots)
    message = str(info.value)
    assert fragment in message and len(message) <= 300 and message.startswith("checkpoint state")


def test_an_option_the_state_predates_takes_its_default(saved_state):
    import copy

    from deltaprop.checkpoint_schema import validate_state

    state, sizes, slots = saved_state
    older = copy.deepcopy(state)
    del older["config"]["centered"], older["optimizer"]["t"]
    validate_state(older, sizes, slots)


def test_slots_must_be_those_of_the_configured_optimizer(saved_state):
    from deltaprop.checkpoint_schema import validate_state

    state, sizes, _ = saved_state
    # before the first step the optimizer has no arrays yet; the kept parameters are no optimizer's
    validate_state(state, sizes, ["kept"])
    with pytest.raises(ValueError, match=r"holds optimizer slots 'exp_avg', but sgd keeps \['velocity'\]"):
        validate_state(state, sizes, ["exp_avg", "kept"])


def test_adam_step_count_must_equal_the_steps_taken(tmp_path):
    X, y, _ = _data()
    fit(_net(), X, y, epochs=2, batch_size=16, optimizer="adam", checkpoint=Checkpoint(tmp_path))
    saved = load_checkpoint(tmp_path)
    assert saved.state["optimizer"]["t"] == 2 * 13
    net, meta, slots = io.load_with_metadata(saved.path)
    meta["checkpoint"]["optimizer"]["t"] = 25
    extra = {"checkpoint": meta["checkpoint"]}
    io.save(net, saved.path, extra_metadata=extra, slots=slots)
    with pytest.raises(ModelFormatError, match=r"'optimizer.t' is 25, expected 26 \(the steps taken\)"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_is_never_written_with_a_state_load_would_refuse(tmp_path, monkeypatch):
    from deltaprop.trainer import Trainer

    X, y, validation = _data()
    state = Trainer.state

    def lying_state(trainer):
        numbers, arrays = state(trainer)
        return {**numbers, "epoch": numbers["epoch"] + 1}, arrays

    monkeypatch.setattr(Trainer, "state", lying_state)
    with pytest.raises(ValueError, match="'epoch' is 1, but the history holds 0 records"):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            should_stop=lambda: True, **OPTIONS)
    assert not checkpoint_file(tmp_path).exists()


@pytest.mark.parametrize(("version", "message"), [
    (3, "written by a newer deltaprop .state version 3.; upgrade"),
    (1, "has state version 1, this deltaprop resumes version 2"),
    (True, "has state version True"),
    ("2", "has state version '2'"),
    (10**400, "newer deltaprop"),
])
def test_other_state_versions_are_named(tmp_path, version, message):
    X, y, _ = _data()
    fit(_net(), X, y, epochs=1, batch_size=16, checkpoint=Checkpoint(tmp_path))
    path = checkpoint_file(tmp_path)
    net, meta, slots = io.load_with_metadata(path)
    meta["checkpoint"]["version"] = version
    io.save(net, path, extra_metadata={"checkpoint": meta["checkpoint"]}, slots=slots)
    with pytest.raises(ModelFormatError, match=message) as info:
        load_checkpoint(tmp_path)
    assert len(str(info.value)) <= 300
