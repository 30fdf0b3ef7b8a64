"""History: records by list position and by epoch, fields by key and by attribute, round trips."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from deltaprop import History, Network, fit
from deltaprop.history import RECORD_FIELDS, epoch_line, validation_score


@pytest.fixture(scope="module")
def history() -> History:
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 4))
    y = (X[:, 0] > 0.5).astype(int)
    net = Network([4, 5, 2], seed=0)
    return fit(net, X, y, epochs=3, batch_size=8, validation_data=(X[:10], y[:10]))


def test_integer_indices_are_list_positions(history):
    assert len(history) == 3
    assert history[0]["epoch"] == 1 and history[2]["epoch"] == 3
    assert history[-1] is history.records[-1]
    assert [record["epoch"] for record in history[1:]] == [2, 3]
    assert history[np.int64(1)]["epoch"] == 2
    assert [record["epoch"] for record in history] == [1, 2, 3]
    with pytest.raises(IndexError, match=r"history index 3 out of range: it holds 3 epochs"):
        history[3]


def test_epoch_n_is_the_record_numbered_n(history):
    assert history.epoch(1) is history[0]
    assert history.epoch(3)["epoch"] == 3
    with pytest.raises(KeyError, match=r"no record of epoch 0 .* holds epochs 1 \.\. 3"):
        history.epoch(0)
    resumed = History([{"epoch": 4}, {"epoch": 5}])
    assert resumed.epoch(5) is resumed[1]


def test_fields_by_key_and_by_attribute(history):
    accuracies = history["validation_accuracy"]
    assert len(accuracies) == 3 and all(0 <= a <= 1 for a in accuracies)
    assert history.validation_accuracy == accuracies
    assert history.train_cost == [record["train_cost"] for record in history.records]
    assert history.test_accuracy == [None, None, None]  # a known field, not measured
    assert History().validation_accuracy == []


def test_unknown_fields_name_the_known_ones(history):
    with pytest.raises(KeyError, match=r"no field 'nonsense' .*known fields: epoch, eta, seconds, "
                                       r"train_cost"):
        history["nonsense"]
    with pytest.raises(AttributeError, match=r"no attribute 'validation_acc'.*validation_accuracy"):
        history.validation_acc  # noqa: B018
    with pytest.raises(TypeError, match=r"field names, positions or slices, got 1.5"):
        history[1.5]
    assert not hasattr(history, "_private")


def test_extra_record_keys_are_known_too():
    history = History([{"epoch": 1, "custom": 7}])
    assert history.keys()[: len(RECORD_FIELDS)] == list(RECORD_FIELDS)
    assert history["custom"] == [7] and history.custom == [7]


def test_pickle_copy_and_as_dict_round_trip(history):
    for clone in (pickle.loads(pickle.dumps(history)), copy.deepcopy(history)):
        assert clone == history and clone.validation_accuracy == history.validation_accuracy
    again = History(**history.as_dict())
    assert again.records == history.records and again.stop_reason == "completed"
    assert again.kept_epoch == history.kept_epoch is not None


def test_the_kept_epoch_is_the_best_validation_score():
    records = [{"epoch": 1, "validation_accuracy": 0.5, "validation_cost": 0.9},
               {"epoch": 2, "validation_accuracy": None, "validation_cost": 0.25},
               {"epoch": 3, "validation_accuracy": None, "validation_cost": None}]
    assert [validation_score(record) for record in records] == [(0.5, -0.9), (-0.25,), None]
    assert History(records, kept_epoch=2).kept() is records[1]
    assert History(records).kept() is None


def test_epoch_line_reads_like_keras():
    record = {"epoch": 3, "seconds": 0.214, "train_cost": 0.28171, "train_accuracy": 0.94117,
              "validation_cost": None, "validation_accuracy": None, "test_cost": 0.5,
              "test_accuracy": 0.875}
    assert epoch_line(record, 30) == ("epoch 3/30 - 0.21s - train_cost: 0.2817 - train_accuracy: "
                                      "0.9412 - test_cost: 0.5000 - test_accuracy: 0.8750")
