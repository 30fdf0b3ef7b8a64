"""The recorder of the report's snapshots: what it records, when, and the file it writes."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.datasets import load_dataset
from deltaprop.history import History
from deltaprop.recording import (
    QUANTITIES,
    Recorder,
    Snapshots,
    histogram,
    power_of_two_epochs,
    training_recorder,
)
from deltaprop.training import fit


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def test_epochs_are_zero_powers_of_two_and_the_last():
    assert power_of_two_epochs(30) == [0, 1, 2, 4, 8, 16, 30]
    assert power_of_two_epochs(8) == [0, 1, 2, 4, 8]
    assert power_of_two_epochs(1) == [0, 1]


def test_histogram_counts_every_finite_value_and_survives_constant_arrays():
    counts, edges = histogram(np.array([0.0, 1.0, 2.0, np.nan, 3.0]), bins=3, tail=0.0)
    assert counts.sum() == 4 and edges[0] == 0.0 and edges[-1] == 3.0
    values = np.concatenate([np.linspace(-1.0, 1.0, 1000), [50.0, -80.0]])  # two outliers
    counts, edges = histogram(values, bins=10)
    assert counts.sum() == 1002 and -1.0 <= edges[0] < -0.9 and 0.9 < edges[-1] <= 1.0
    assert counts[0] >= 1 + 5 and counts[-1] >= 1 + 5  # the outliers sit in the end bins
    spike = np.concatenate([np.zeros(1), np.ones(999)])  # both quantiles 1: the full range instead
    counts, edges = histogram(spike, bins=2)
    assert counts.tolist() == [1, 999] and edges[0] == 0.0 and edges[-1] == 1.0
    counts, edges = histogram(np.full(7, 2.5), bins=4)
    assert counts.sum() == 7 and edges[0] < 2.5 < edges[-1]


def test_a_training_run_records_the_chosen_epochs_with_counts_of_every_row_and_unit(digits):
    net = Network([64, 12, 10], cost="cross_entropy", seed=1)
    recorder = training_recorder(net, digits.train.X, digits.train.y, last=5,
                                 image_shape=digits.image_shape, rows=50)
    history = fit(net, digits.train.X, digits.train.y, epochs=5, eta=0.5, seed=0,
                  callbacks=[recorder])
    recorder.finish(history)
    snapshots = recorder.snapshots
    assert snapshots.epochs == [0, 1, 2, 4, 5]
    assert snapshots.rows == 50
    for index in range(len(snapshots.epochs)):
        for layer, (n_in, n_out) in enumerate(net.layer_shapes()):
            assert snapshots.counts["weights"][index][layer].sum() == n_in * n_out
            assert snapshots.counts["z"][index][layer].sum() == 50 * n_out
            assert snapshots.counts["delta"][index][layer].sum() == 50 * n_out
    assert len(snapshots.first_layer) == 5 and snapshots.first_layer[0].shape == (12, 64)
    assert not np.array_equal(snapshots.first_layer[0], snapshots.first_layer[-1])  # it learned
    np.testing.assert_allclose(snapshots.first_layer[-1], net.weights[0], rtol=1e-6)


def test_recording_changes_nothing_of_the_training(digits):
    def train(record: bool) -> Network:
        net = Network([64, 10, 10], seed=2)
        callbacks = [training_recorder(net, digits.train.X, digits.train.y, last=3)] if record else []
        fit(net, digits.train.X, digits.train.y, epochs=3, eta=1.0, seed=0, callbacks=callbacks)
        return net

    for got, want in zip(train(True).weights, train(False).weights, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_resumed_run_records_no_epoch_zero_and_finish_adds_an_early_last_epoch(digits):
    net = Network([64, 10, 10], seed=0)
    recorder = training_recorder(net, digits.train.X, digits.train.y, last=30, resumed=True)
    assert recorder.snapshots.epochs == []
    for epoch in (5, 6, 8):
        recorder({"epoch": epoch})
    recorder.finish(History([{"epoch": epoch} for epoch in range(1, 10)], "early stopping"))
    assert recorder.snapshots.epochs == [8, 9]


def test_finish_labels_the_kept_parameters_with_the_kept_epoch(digits):
    """The network a run leaves holds its kept epoch's parameters (keep="best"): when that epoch
    was not recorded, finish records them under its number, never under the last epoch's."""
    net = Network([64, 10, 10], seed=0)
    recorder = training_recorder(net, digits.train.X, digits.train.y, last=30, resumed=True)
    history = History([{"epoch": epoch} for epoch in range(1, 10)], "early stopping", kept_epoch=7)
    recorder.finish(history)
    assert recorder.snapshots.epochs == [7]
    recorder.finish(history)  # recorded already: nothing more
    assert recorder.snapshots.epochs == [7]


def test_no_first_layer_images_when_the_inputs_are_not_images():
    rng = np.random.default_rng(0)
    net = Network([5, 3, 2], seed=0)
    recorder = Recorder(net, rng.normal(size=(20, 5)), rng.integers(0, 2, 20), epochs=[0],
                        image_shape=(2, 2))
    recorder.start()
    assert recorder.snapshots.first_layer is None and recorder.snapshots.image_shape is None


def test_snapshots_survive_a_save_and_load(tmp_path, digits):
    net = Network([64, 10, 10], seed=0)
    recorder = training_recorder(net, digits.train.X, digits.train.y, last=2,
                                 image_shape=digits.image_shape)
    recorder.record(1)
    path = tmp_path / "snapshots.npz"
    recorder.snapshots.save(path)
    loaded = Snapshots.load(path)
    assert loaded.epochs == [0, 1] and loaded.sizes == [64, 10, 10] and loaded.image_shape == (8, 8)
    for q in QUANTITIES:
        np.testing.assert_array_equal(np.array(loaded.counts[q]), np.array(recorder.snapshots.counts[q]))
        np.testing.assert_array_equal(np.array(loaded.edges[q]), np.array(recorder.snapshots.edges[q]))
    np.testing.assert_allclose(np.array(loaded.first_layer), np.array(recorder.snapshots.first_layer),
                               rtol=1e-3, atol=1e-4)  # saved as float16
    assert [p.name for p in tmp_path.iterdir()] == ["snapshots.npz"]  # no temporary left


def test_a_file_that_is_not_snapshots_is_refused_naming_it(tmp_path):
    path = tmp_path / "snapshots.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="snapshots.npz"):
        Snapshots.load(path)
    np.savez(path, sizes=np.array([2, 2]))
    with pytest.raises(ValueError, match="not a snapshot file"):
        Snapshots.load(path)


def test_recorder_arguments_are_checked():
    net = Network([3, 2], seed=0)
    with pytest.raises(ValueError, match="last"):
        Recorder(net, np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="empty"):
        Recorder(net, np.zeros((0, 3)), np.zeros(0, np.int64), epochs=[0])
