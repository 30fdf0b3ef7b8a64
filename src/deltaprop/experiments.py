"""The book's experiments; first chapter 5's vanishing gradient (Nielsen, "Why are deep neural
networks hard to train?").

:func:`vanishing_gradient` builds sigmoid networks with network2's initialization (weights
N(0, 1/n_in), biases N(0, 1)) and the cross-entropy cost, and measures the *speed of learning* of each
hidden layer l as ‖∂C/∂b^l‖, where ∂C/∂b^l is the gradient of the mean cost over a fixed set of
training images (the book's first 1000), unregularized, at a fixed point of the parameters:

* at initialization, for each of several seeds (the median is reported, each seed listed);
* during training (η = 0.1, λ = 5, mini-batches of 10, the first seed's network), measured again over
  the same images at the end of every epoch by a ``fit`` callback.

The book's finding: at initialization the earlier hidden layers learn several times slower than the
later ones. This is not the ``learning_speed`` that ``fit`` records in its history, which is the norm
of the epoch's mean *mini-batch* gradient, averaged over the parameter values training passed through
during the epoch; the experiment's is the full gradient over the images at one point, as the book's
``generate_gradient.py`` computes it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._validation import check_positive_int
from deltaprop.diagnostics import learning_speed
from deltaprop.network import Network
from deltaprop.plots import _write_png
from deltaprop.training import fit

Array = np.ndarray
OnEpoch = Callable[[list[int], int, list[float]], Any]  # on_epoch(sizes, epoch, speeds)
BOOK_SIZES: tuple[tuple[int, ...], ...] = (
    (784, 30, 30, 10), (784, 30, 30, 30, 10), (784, 30, 30, 30, 30, 10))
BOOK_INITIAL_SPEED: dict[tuple[int, ...], tuple[float, ...]] = {
    (784, 30, 30, 10): (0.07, 0.31),
    (784, 30, 30, 30, 10): (0.012, 0.060, 0.283),
    (784, 30, 30, 30, 30, 10): (0.003, 0.017, 0.070, 0.285),
}
"""The speeds at initialization that the book prints (chapter 5), one per hidden layer."""
IMAGES = 1000
DEFAULT_EPOCHS = 500
DEFAULT_SEEDS = (0, 1, 2, 3, 4)


@dataclass
class NetworkSpeeds:
    """The vanishing-gradient measurements of one architecture.

    Attributes:
        sizes: the layer sizes.
        initial_speed: per hidden layer, the median over seeds of ‖∂C/∂b^l‖ at initialization.
        initial_speed_by_seed: {seed: [one speed per hidden layer]}.
        speed_by_epoch: per epoch 0..E (0 = initialization), per hidden layer, of the network of
            ``training_seed`` trained for E epochs; empty when E = 0.
        book_initial_speed: the book's figures for these sizes, or None.
        seconds: wall time of this architecture's measurements and training.
    """

    sizes: list[int]
    initial_speed: list[float]
    initial_speed_by_seed: dict[int, list[float]]
    speed_by_epoch: list[list[float]] = field(default_factory=list)
    training_seed: int | None = None
    book_initial_speed: list[float] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; seeds become string keys."""
        by_seed = {str(s): v for s, v in self.initial_speed_by_seed.items()}
        return {**asdict(self), "initial_speed_by_seed": by_seed}


@dataclass
class VanishingGradient:
    """The whole experiment: one NetworkSpeeds per architecture and the settings used."""

    networks: list[NetworkSpeeds]
    images: int
    epochs: int
    seeds: list[int]
    eta: float
    lmbda: float
    batch_size: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """{"networks": [...], and the settings}: the JSON of ``deltaprop experiment``."""
        return {**asdict(self), "networks": [n.to_dict() for n in self.networks],
                "speed": "‖∂C/∂b^l‖ of the unregularized mean gradient over the images, per hidden "
                         "layer, at initialization and after each epoch"}


def hidden_speeds(net: Network, X: Array, Y: Array) -> list[float]:
    """‖∂C/∂b^l‖ of the mean cost's gradient over all rows of X (m, n_in), Y (m, n_out), for each
    hidden layer l = 1..L-1 (the output layer left out, as in the book)."""
    nabla_b, _ = net.gradient(X, Y)
    return learning_speed(nabla_b[:-1])


def _book_network(sizes: Sequence[int], seed: int) -> Network:
    return Network(list(sizes), activation="sigmoid", output_activation="sigmoid",
                   cost="cross_entropy", init="default", seed=seed, dtype="float64")


def vanishing_gradient(X: Any, y: Any, sizes_list: Sequence[Sequence[int]] = BOOK_SIZES,
                       epochs: int = DEFAULT_EPOCHS, seeds: Sequence[int] = DEFAULT_SEEDS, eta: float = 0.1,
                       lmbda: float = 5.0, batch_size: int = 10,
                       on_epoch: OnEpoch | None = None) -> VanishingGradient:
    """The book's chapter-5 measurement of how fast each hidden layer learns.

    Args:
        X: the training images, shape (m, 784) (the book: the first 1000 MNIST training images).
        y: their labels (m,) or one-hot targets (m, n_out).
        sizes_list: the architectures, each [n_in, hidden..., n_out] with at least one hidden layer.
        epochs: epochs of training of the first seed's network (0: initialization only).
        seeds: the seeds of the initial parameters; the speeds at initialization are their median.
        eta, lmbda, batch_size: the training's η, L2 λ (with n = m) and mini-batch size.
        on_epoch: called as ``on_epoch(sizes, epoch, speeds)`` after each measurement.

    Returns:
        A VanishingGradient; ``to_dict()`` gives the experiment's JSON.
    """
    seeds = [check_positive_int("seed", s, minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must list at least one seed, got none")
    epochs = check_positive_int("epochs", epochs, minimum=0)
    started = time.perf_counter()
    results = []
    for sizes in sizes_list:
        if len(sizes) < 3:
            raise ValueError(f"each network needs a hidden layer to measure, got sizes {list(sizes)}")
        results.append(_one_network(X, y, list(sizes), epochs, seeds, eta, lmbda, batch_size, on_epoch))
    return VanishingGradient(results, int(np.shape(X)[0]), epochs, seeds, float(eta), float(lmbda),
                             batch_size, time.perf_counter() - started)


def _one_network(X: Any, y: Any, sizes: list[int], epochs: int, seeds: list[int], eta: float,
                 lmbda: float, batch_size: int, on_epoch: OnEpoch | None) -> NetworkSpeeds:
    started = time.perf_counter()
    by_seed = {}
    for seed in seeds:
        net = _book_network(sizes, seed)
        X_checked, Y = net.check_XY(X, y, "X", "y")
        by_seed[seed] = hidden_speeds(net, X_checked, Y)
    median = [statistics.median(layer) for layer in zip(*(by_seed[s] for s in seeds), strict=True)]
    book = BOOK_INITIAL_SPEED.get(tuple(sizes))
    speeds = NetworkSpeeds(sizes, median, by_seed, training_seed=seeds[0],
                           book_initial_speed=None if book is None else list(book))
    if epochs > 0:
        net = _book_network(sizes, seeds[0])
        speeds.speed_by_epoch.append(by_seed[seeds[0]])

        def measure(record: dict[str, Any]) -> None:
            speeds.speed_by_epoch.append(hidden_speeds(net, X_checked, Y))
            if on_epoch is not None:
                on_epoch(sizes, record["epoch"], speeds.speed_by_epoch[-1])

        fit(net, X_checked, Y, epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda,
            seed=seeds[0], callbacks=[measure])
    speeds.seconds = time.perf_counter() - started
    return speeds


def first_training_images(data_dir: str | os.PathLike[str] | None = None,
                          images: int = IMAGES) -> tuple[Array, Array]:
    """The first ``images`` MNIST training images (images, 784) in float64 and their labels, as
    the book's ``training_data[:1000]`` (downloaded into ``data_dir`` when missing)."""
    from deltaprop.datasets import load_mnist

    images = check_positive_int("images", images)
    train = load_mnist(data_dir=data_dir, dtype="float64").train
    if images > train.X.shape[0]:
        raise ValueError(f"images must be at most {train.X.shape[0]}, got {images}")
    return train.X[:images], train.y[:images]


def plot_vanishing_gradient(result: VanishingGradient, path: str | os.PathLike[str]) -> Path:
    """The book's figures: per architecture, ‖∂C/∂b^l‖ of each hidden layer against the epoch
    (log scale), or, without training, the speeds at initialization per seed; written as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = len(result.networks)
    figure = Figure(figsize=(5 * count, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, count, squeeze=False)[0]
    for ax, net in zip(axes, result.networks, strict=True):
        layers = len(net.sizes) - 2
        if net.speed_by_epoch:
            series = np.array(net.speed_by_epoch)
            for i in range(layers):
                ax.plot(np.arange(series.shape[0]), series[:, i], label=f"hidden layer {i + 1}")
            ax.set_xlabel("epoch")
            for i, value in enumerate(net.book_initial_speed or []):
                ax.plot([0], [value], "x", color=f"C{i}", label="the book" if i == 0 else None)
        else:
            for i in range(layers):
                values = [net.initial_speed_by_seed[s][i] for s in result.seeds]
                ax.plot(result.seeds, values, "o-", label=f"hidden layer {i + 1}")
            ax.set_xlabel("seed (at initialization)")
        ax.set_yscale("log")
        ax.set_ylabel(r"speed of learning $\|\partial C/\partial b^l\|$")
        ax.set_title(f"{layers} hidden layers {net.sizes}", fontsize=9)
        ax.legend(fontsize=8)
    return _write_png(figure, path)
