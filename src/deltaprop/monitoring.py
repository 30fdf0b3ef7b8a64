"""The record of an epoch: costs and accuracies, learning speed and saturation.

Training cost and accuracy come from the epoch's running sums (``deltaprop.history.EpochSums``) or,
when asked (``train_metrics="full"``), from a pass over the training set; validation and test data
are evaluated in full after every epoch, in chunks of rows so that memory stays bounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop.errors import TrainingDivergedError
from deltaprop.history import EpochSums
from deltaprop.network import Network, Workspace, _shortened
from deltaprop.options import TrainingConfig
from deltaprop.training_data import TrainingData

Array = np.ndarray
EVALUATION_CHUNK = 1_000  # rows per forward pass when evaluating: bounds monitoring memory
SATURATION_ROWS = EVALUATION_CHUNK  # training rows on which saturation is measured each epoch


def diverged_advice(eta: float, config: TrainingConfig) -> str:
    """What to try when training diverged: a smaller eta, and the regularization when there is one,
    each named once by its option name."""
    advice = f"try a smaller eta (now {eta:g})"
    for name in ("lmbda", "l1"):
        if getattr(config, name):
            advice += f", or a smaller {name} (now {getattr(config, name):g})"
    return advice


def training_bytes(net: Network, config: TrainingConfig, rows: int, slots: int, pass_rows: int = 0) -> int:
    """Bytes a training run of ``net`` on ``rows`` rows allocates besides the network's parameters:
    the gradient vector, the optimizer's ``slots`` and its scratch vector, the copy of the best
    epoch's parameters (``keep="best"``, made when there are validation data), the epoch sums; the
    mini-batch workspace (z, a, δ and scratch of every layer, dropout's masks and masked inputs,
    the gathered batch); the monitoring workspace of ``EVALUATION_CHUNK`` rows (z and a) with its
    per-row costs; and ``pass_rows`` rows of one more forward and backward pass (``deltaprop
    train``'s initial learning speed)."""
    sizes, params = net.sizes, net.num_parameters
    units, hidden = sum(sizes[1:]), sum(sizes[1:-1])
    k = min(config.batch_size, rows)
    kept = config.keep == "best"
    trainer = params * (3 + slots + kept) + sum(sizes) + k * (4 * units + 2 * hidden + sizes[0] + sizes[-1])
    monitor = EVALUATION_CHUNK * (2 * units + 2 * sizes[-1])
    extra = pass_rows * (sizes[0] + 4 * units) + (params if pass_rows else 0)
    return net.dtype.itemsize * (trainer + monitor + extra) + 8 * rows  # and the epoch's order


def check_training_memory(net: Network, config: TrainingConfig, rows: int, slots: int,
                          pass_rows: int = 0) -> None:
    """Refuse, before allocating, a training run that needs more memory than is available
    (:func:`training_bytes`; the network itself is checked when it is made)."""
    from deltaprop._validation import check_allocation

    check_allocation(f"training a network with sizes {_shortened(net.sizes)}",
                     training_bytes(net, config, rows, slots, pass_rows),
                     "choose smaller layers or a smaller batch_size")


class Monitor:
    """Evaluates a network after each epoch on the training data and the monitored data sets."""

    def __init__(self, net: Network, monitored: dict[str, TrainingData]) -> None:
        self.net = net
        self.monitored = monitored
        self.workspace = Workspace(net.sizes, net.dtype, EVALUATION_CHUNK, backward=False)

    def cost_and_accuracy(self, data: TrainingData) -> tuple[float, float | None]:
        """Mean unregularized cost (weighted by the data's sample weights) and accuracy of ``data``."""
        net = self.net
        cost_sum, weight_sum, correct = 0.0, 0.0, 0
        for start in range(0, data.rows, EVALUATION_CHUNK):
            rows = slice(start, start + EVALUATION_CHUNK)
            space = net.forward(data.X[rows], self.workspace)
            costs = net.cost_function.value(space.zs[-1], space.activations[-1], data.Y[rows],
                                            net.activations[-1])
            weights = None if data.weights is None else data.weights[rows]
            cost_sum += float(np.sum(costs if weights is None else costs * weights))
            weight_sum += costs.shape[0] if weights is None else float(np.sum(weights))
            if data.labels is not None:
                predicted = np.argmax(space.activations[-1], axis=1)
                correct += int(np.sum(predicted == data.labels[rows]))
        accuracy = correct / data.rows if data.labels is not None else None
        return cost_sum / weight_sum, accuracy

    def record(self, epoch: int, eta: float, seconds: float, config: TrainingConfig,
               train: TrainingData, sums: EpochSums) -> dict[str, Any]:
        """The record of epoch ``epoch`` (1-based), just trained with learning rate ``eta`` in
        ``seconds`` on ``train``, whose running sums are ``sums``."""
        full_batch = min(config.batch_size, train.rows) * train.mean_weight
        penalty = config.regularization.penalty(self.net.weights,
                                                config.regularization.n(train.rows, full_batch))
        record: dict[str, Any] = {"epoch": epoch, "eta": eta, "seconds": seconds}
        if config.train_metrics == "full":
            results = {"train": self.cost_and_accuracy(train)}
        else:
            results = {"train": (sums.cost(), sums.accuracy())}
        results.update({name: self.cost_and_accuracy(data) for name, data in self.monitored.items()})
        for name in ("train", "validation", "test"):
            cost, accuracy = results.get(name, (None, None))
            if cost is not None:
                cost += penalty
                if not math.isfinite(cost):
                    raise TrainingDivergedError(
                        f"training diverged in epoch {epoch}: after its last mini-batch the {name} "
                        f"cost is {cost}; {diverged_advice(eta, config)}")
            record[f"{name}_cost"], record[f"{name}_accuracy"] = cost, accuracy
        record["learning_speed"] = sums.learning_speed()
        record["saturation"] = saturation(self.net, train.X[:SATURATION_ROWS], self.workspace)
        return record


def saturation(net: Network, X: Array, workspace: Workspace | None = None) -> list[float | None]:
    """Per layer, the fraction of saturated units on the rows of X (checked, (m, sizes[0])), computed
    in ``workspace`` when given (one of at least m rows).

    A sigmoid or tanh unit is saturated on a row when σ'(z) is below 1% of its maximum; a ReLU unit
    counts when it is dead, zero on every row of X. None for activations that cannot saturate.
    """
    space = net.forward(X, workspace)
    return [act.saturation(z, a) for act, z, a in
            zip(net.activations, space.zs, space.activations[1:], strict=True)]
