"""The vanishing-gradient experiment (Nielsen, ch. 5): its measurements, its finding on real MNIST,
its figure and its errors."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network, fit
from deltaprop.experiments import (
    BOOK_INITIAL_SPEED,
    BOOK_SIZES,
    first_training_images,
    hidden_speeds,
    plot_vanishing_gradient,
    vanishing_gradient,
)

SHARED_MNIST = (Path(__file__).resolve().parents[1] / "../shared/data/mnist").resolve()


@pytest.fixture(scope="module")
def mnist_1000() -> tuple[np.ndarray, np.ndarray]:
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST files are not at {SHARED_MNIST} (../shared/data/mnist beside the repo)")
    return first_training_images(SHARED_MNIST)


def _small_data(rows: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (rows, 12)), rng.integers(0, 3, rows)


def test_speeds_are_bias_gradient_norms_of_the_hidden_layers() -> None:
    X, y = _small_data()
    net = Network([12, 6, 5, 3], output_activation="sigmoid", cost="cross_entropy", seed=2)
    nabla_b, _ = net.backprop(X, y)
    assert hidden_speeds(net, X, np.eye(3)[y]) == [float(np.linalg.norm(nabla_b[0])),
                                                   float(np.linalg.norm(nabla_b[1]))]


def test_measurements_per_seed_per_epoch_and_the_training_they_follow() -> None:
    X, y = _small_data()
    seen = []
    result = vanishing_gradient(X, y, sizes_list=[[12, 6, 5, 3], [12, 4, 3]], epochs=2,
                                seeds=[3, 4, 5], on_epoch=lambda s, e, v: seen.append((s, e)))
    first, second = result.networks
    assert first.sizes == [12, 6, 5, 3] and len(first.initial_speed) == 2
    assert sorted(first.initial_speed_by_seed) == [3, 4, 5]
    for i in range(2):
        assert first.initial_speed[i] == sorted(v[i] for v in first.initial_speed_by_seed.values())[1]
    assert len(first.speed_by_epoch) == 3 and first.speed_by_epoch[0] == first.initial_speed_by_seed[3]
    assert len(second.initial_speed) == 1 and first.book_initial_speed is None
    assert seen == [([12, 6, 5, 3], 1), ([12, 6, 5, 3], 2), ([12, 4, 3], 1), ([12, 4, 3], 2)]
    # the speed after epoch 2 is the gradient of the network fit has trained for 2 epochs
    net = Network([12, 6, 5, 3], activation="sigmoid", output_activation="sigmoid",
                  cost="cross_entropy", init="default", seed=3)
    fit(net, X, y, epochs=2, batch_size=10, eta=0.1, lmbda=5.0, seed=3)
    assert first.speed_by_epoch[2] == pytest.approx(hidden_speeds(net, X, np.eye(3)[y]), rel=1e-12)
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data["networks"][0]) >= {"sizes", "initial_speed", "initial_speed_by_seed",
                                        "speed_by_epoch"}
    assert data["epochs"] == 2 and data["images"] == 60 and data["seeds"] == [3, 4, 5]


def test_no_training_with_zero_epochs_and_the_figure(tmp_path) -> None:
    X, y = _small_data()
    result = vanishing_gradient(X, y, sizes_list=[[12, 6, 5, 3]], epochs=0, seeds=[0, 1])
    assert result.networks[0].speed_by_epoch == []
    path = plot_vanishing_gradient(result, tmp_path / "init.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD = [
    ({"sizes_list": [[12, 3]]}, ValueError, "hidden layer"),
    ({"seeds": []}, ValueError, "at least one seed"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"seeds": [1.5]}, TypeError, "seed"),
]


@pytest.mark.parametrize("case", range(len(BAD)), ids=[str(b[0]) for b in BAD])
def test_bad_arguments_raise_naming_them(case) -> None:
    given, error, fragment = BAD[case]
    X, y = _small_data()
    with pytest.raises(error) as info:
        vanishing_gradient(X, y, **{"sizes_list": [[12, 4, 3]], "epochs": 0, **given})
    assert fragment in str(info.value)


def test_early_layers_learn_slower_at_initialization_on_mnist(mnist_1000, tmp_path) -> None:
    X, y = mnist_1000
    assert X.shape == (1000, 784) and y.shape == (1000,)
    result = vanishing_gradient(X, y, epochs=1, seeds=range(5))
    for net in result.networks:
        speeds = net.initial_speed
        assert all(a < b for a, b in pairwise(speeds)), (net.sizes, speeds)
        assert all(all(a < b for a, b in pairwise(v)) for v in net.initial_speed_by_seed.values())
        book = BOOK_INITIAL_SPEED[tuple(net.sizes)]
        # within a factor 2 of the book's figures (other random draws than the book's)
        assert all(b / 2 < s < 2 * b for s, b in zip(speeds, book, strict=True)), (speeds, book)
        assert len(net.speed_by_epoch) == 2
    assert [n.sizes for n in result.networks] == [list(s) for s in BOOK_SIZES]
    assert plot_vanishing_gradient(result, tmp_path / "vg.png").stat().st_size > 10_000
