"""keep="best": fit leaves the parameters of the epoch with the best validation accuracy (of equals the
lowest validation cost, then the earliest), through early stopping, the η schedule and resumes;
keep="last" and runs without validation data leave the last epoch's; the estimators keep
scikit-learn's behaviour."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from deltaprop import Network, fit, io
from deltaprop.checkpoint import Checkpoint, checkpoint_file, load_checkpoint
from deltaprop.cli.train_plan import train_parser
from deltaprop.errors import ModelFormatError, TrainingInterrupted
from deltaprop.history import KEPT_SLOT, validation_score
from deltaprop.options import BY_NAME, TrainingConfig

OPTIONS = dict(epochs=12, batch_size=8, eta=1.0, seed=1)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    y = (X[:, 0] + 0.8 * rng.normal(size=120) > 0).astype(int) + (X[:, 1] > 0.7)
    return X[:80], y[:80], (X[80:90], y[80:90])


def _net():
    return Network([6, 8, 3], seed=1)


def _parameters(net):
    return [array.copy() for array in net.weights + net.biases]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def _best_epoch(records):
    """The epoch keep="best" keeps: the best validation accuracy, the lowest cost, the earliest."""
    return 1 + min(range(len(records)), key=lambda i: (
        -records[i]["validation_accuracy"], records[i]["validation_cost"], i))


def _run(**options):
    """(network, history, each epoch's parameters) of a run on ``_data``."""
    X, y, validation = _data()
    net, seen = _net(), []
    options = {"validation_data": validation, **OPTIONS, **options}
    history = fit(net, X, y, callbacks=[lambda record: seen.append(_parameters(net))], **options)
    return net, history, seen


def test_the_option_is_in_the_table_with_its_flag_and_default():
    option = BY_NAME["keep"]
    assert (option.default, option.cli_flag) == ("best", "--keep")
    assert tuple(option.rule.choices) == ("best", "last")
    assert TrainingConfig().keep == "best" and TrainingConfig().as_dict()["keep"] == "best"
    assert inspect.signature(fit).parameters["keep"].default == "best"
    assert "--keep {best,last}" in train_parser().format_help()
    with pytest.raises(ValueError, match=r"keep must be one of \['best', 'last'\], got 'first'"):
        TrainingConfig(keep="first")
    with pytest.raises(ValueError, match="keep must be one of"):
        fit(_net(), *_data()[:2], epochs=1, keep="worst")


def test_fit_leaves_the_epoch_of_the_best_validation_accuracy_of_equals_the_lowest_cost():
    net, history, seen = _run()
    accuracies = history["validation_accuracy"]
    best = max(accuracies)
    assert accuracies.count(best) > 1 and accuracies[-1] < best  # ties, and a worse last epoch
    assert history.kept_epoch == _best_epoch(history.records) != accuracies.index(best) + 1
    assert _same(_parameters(net), seen[history.kept_epoch - 1])
    X, y, validation = _data()
    assert net.accuracy(*validation) == best
    assert history.as_dict()["kept_epoch"] == history.kept_epoch


def test_of_exact_equals_the_earliest_is_kept():
    net, history, seen = _run(eta=1e-300)  # steps too small to change any parameter
    assert len(set(history["validation_cost"])) == 1
    assert history.kept_epoch == 1


def test_keep_last_and_runs_without_validation_data_leave_the_last_epoch():
    net, history, seen = _run(keep="last")
    assert history.kept_epoch == len(history) == 12
    assert _same(_parameters(net), seen[-1])
    unvalidated, history, seen = _run(validation_data=None)
    assert history.kept_epoch == 12 and _same(_parameters(unvalidated), seen[-1])
    assert _same(_parameters(unvalidated), _parameters(net))  # validation data change no step


def test_targets_that_are_not_classes_keep_the_lowest_validation_cost():
    rng = np.random.default_rng(2)
    X = rng.uniform(size=(60, 3))
    Y = np.column_stack([X.sum(axis=1) / 3, X[:, 0] * X[:, 1]])
    net, seen = Network([3, 5, 2], seed=0), []
    history = fit(net, X[:50], Y[:50], epochs=15, batch_size=5, eta=8.0, seed=0,
                  validation_data=(X[50:], Y[50:]), callbacks=[lambda r: seen.append(_parameters(net))])
    costs = history["validation_cost"]
    assert history["validation_accuracy"] == [None] * 15
    assert history.kept_epoch == int(np.argmin(costs)) + 1 < 15
    assert validation_score(history.kept()) == (-min(costs),)
    assert _same(_parameters(net), seen[history.kept_epoch - 1])


def test_early_stopping_and_the_schedule_end_on_the_best_epoch():
    net, history, seen = _run(epochs=100, early_stopping=3)
    assert history.stop_reason.startswith("early stopping")
    assert history.kept_epoch == _best_epoch(history.records) == len(history) - 3
    assert _same(_parameters(net), seen[history.kept_epoch - 1])
    net, history, seen = _run(epochs=100, schedule=1)
    assert history.stop_reason.startswith("schedule") and min(history["eta"]) < 1.0
    assert history.kept_epoch == _best_epoch(history.records) < len(history)
    assert _same(_parameters(net), seen[history.kept_epoch - 1])


@pytest.mark.parametrize("stop_after", [5, 37, 60, 85])
def test_a_resumed_run_keeps_what_an_uninterrupted_one_keeps(tmp_path, stop_after):
    expected, expected_history, _ = _run()
    X, y, validation = _data()
    calls = iter(range(1, 10_000))
    with pytest.raises(TrainingInterrupted):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            should_stop=lambda: next(calls) >= stop_after, **OPTIONS)
    stopped = load_checkpoint(tmp_path)
    kept, epoch, batch = (stopped.state["history"]["kept_epoch"], stopped.state["epoch"],
                          stopped.state["batch"])
    assert (KEPT_SLOT in stopped.slots) == (kept is not None and (kept, batch) != (epoch, 0))
    resumed = _net()
    history = fit(resumed, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path), resume=True)
    assert history.kept_epoch == expected_history.kept_epoch
    assert _same(_parameters(resumed), _parameters(expected))
    if stop_after == 85:  # in epoch 9 (10 calls an epoch): the best, epoch 8, came from the file
        assert kept == expected_history.kept_epoch == 8 and batch > 0


def test_a_finished_run_resumes_to_its_kept_epoch(tmp_path):
    """The checkpoint of each epoch holds the kept parameters, but at the end of the kept epoch
    itself (its own parameters are those then)."""
    X, y, validation = _data()
    net, copies = _net(), []
    history = fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
                  callbacks=[lambda record: copies.append(KEPT_SLOT in load_checkpoint(tmp_path).slots)],
                  **OPTIONS)
    new_best = [_best_epoch(history.records[:epoch]) == epoch for epoch in range(1, 13)]
    assert copies == [not new for new in new_best] and any(copies) and not all(copies)
    saved = load_checkpoint(tmp_path)
    assert saved.state["epoch"] == 12 and history.kept_epoch < 12
    assert _same(saved.slots[KEPT_SLOT], _parameters(net))  # the last checkpoint holds the kept epoch
    again = _net()
    assert fit(again, X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
               resume=True).kept_epoch == history.kept_epoch
    assert _same(_parameters(again), _parameters(net))


def _rewrite(path, change_state, change_slots=lambda slots: slots):
    net, meta, slots = io.load_with_metadata(path)
    state = meta["checkpoint"]
    change_state(state)
    io.save(net, path, extra_metadata={"checkpoint": state}, slots=change_slots(dict(slots)), training={})


@pytest.fixture()
def stopped_in_epoch_6(tmp_path):
    X, y, validation = _data()
    calls = iter(range(1, 10_000))
    with pytest.raises(TrainingInterrupted):
        fit(_net(), X, y, validation_data=validation, checkpoint=Checkpoint(tmp_path),
            should_stop=lambda: next(calls) >= 55, **OPTIONS)
    return tmp_path


def test_a_checkpoint_whose_kept_epoch_disagrees_is_refused(stopped_in_epoch_6):
    path = checkpoint_file(stopped_in_epoch_6)
    assert load_checkpoint(stopped_in_epoch_6).state["history"]["kept_epoch"] == 3
    cases = [
        (lambda s: s["history"].update(kept_epoch=2), r"'history.kept_epoch' is 2, but that epoch's "
                                                     r"validation score is not the best"),
        (lambda s: s["history"].update(kept_epoch=9), r"'history.kept_epoch' is 9, more than the 5 epochs"),
        (lambda s: s["config"].update(keep="last"), r"'history.kept_epoch' is 3, but keep is 'last'"),
    ]
    for change, message in cases:
        _rewrite(path, change)
        with pytest.raises(ModelFormatError, match=message):
            load_checkpoint(stopped_in_epoch_6)
        _rewrite(path, lambda s: (s["history"].update(kept_epoch=3), s["config"].update(keep="best")))
        load_checkpoint(stopped_in_epoch_6)
    _rewrite(path, lambda s: None, lambda slots: {k: v for k, v in slots.items() if k != KEPT_SLOT})
    with pytest.raises(ModelFormatError, match=r"'history.kept_epoch' is 3 after 5 epochs and 5 "
                                               r"mini-batches, but the file lacks kept parameters"):
        load_checkpoint(stopped_in_epoch_6)


def test_a_state_that_predates_keep_keeps_the_best_epoch_after_the_resume(stopped_in_epoch_6):
    """A checkpoint written before ``keep`` holds no kept parameters: its run goes on with the
    option's default and keeps the best of the epochs it still trains."""
    path = checkpoint_file(stopped_in_epoch_6)
    _rewrite(path, lambda s: (s["history"].pop("kept_epoch"), s["config"].pop("keep")),
             lambda slots: {k: v for k, v in slots.items() if k != KEPT_SLOT})
    X, y, validation = _data()
    net, seen = _net(), []
    history = fit(net, X, y, validation_data=validation, checkpoint=Checkpoint(stopped_in_epoch_6),
                  resume=True, callbacks=[lambda record: seen.append(_parameters(net))])
    later = history.records[5:]  # epochs 6 .. 12, trained after the resume
    assert history.kept_epoch == 5 + _best_epoch(later) < _best_epoch(history.records) + 5
    assert _same(_parameters(net), seen[history.kept_epoch - 6])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 15 epochs, on purpose
def test_the_estimators_keep_scikit_learns_last_epoch_without_early_stopping():
    from deltaprop.sklearn import MLPClassifier

    X, y, validation = _data()
    options = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0, learning_rate_init=0.05,
                   n_iter_no_change=100)
    monitored = MLPClassifier(validation_data=validation, **options).fit(X, y)
    plain = MLPClassifier(**options).fit(X, y)
    scores = monitored.validation_scores_
    assert int(np.argmax(scores)) < len(scores) - 1  # the validation score peaked earlier
    assert _same(monitored.coefs_ + monitored.intercepts_, plain.coefs_ + plain.intercepts_)


def test_the_report_says_which_epoch_the_model_is(tmp_path):
    from deltaprop.cli import main
    from deltaprop.report.rundata import load_run
    from deltaprop.report.sections_training import config_section, curves_section

    assert main(["train", "--epochs", "12", "--hidden", "10", "--out", str(tmp_path / "run"),
                 "--quiet", "--no-plots"]) == 0
    run = load_run(tmp_path / "run", with_data=False)
    kept = _best_epoch(run.records)
    assert kept < 12
    assert f"<tr><th>kept epoch</th><td>{kept}</td></tr>" in config_section(run)
    assert (f"The model saved is epoch {kept}'s (keep 'best': its validation accuracy is the best)."
            in curves_section(run))
    run.meta["kept_epoch"] = 99  # no epoch of the history: not shown
    assert "<tr><th>kept epoch</th><td>–</td></tr>" in config_section(run)
    assert "The model saved is" not in curves_section(run)
