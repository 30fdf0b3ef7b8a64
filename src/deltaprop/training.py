"""Training a network: ``fit``, the one call that runs mini-batch SGD (Nielsen, chapters 1 and 3).

``fit`` checks its inputs once, builds a ``Trainer`` (``deltaprop.trainer``: the loop) with the
optimizer the options name, resumes it from a checkpoint when asked, and runs it. Its keyword
defaults come from the options table (``deltaprop.options.TrainingConfig``), as the command line's do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from deltaprop.errors import ModelFormatError
from deltaprop.history import History
from deltaprop.monitoring import Monitor
from deltaprop.network import Network
from deltaprop.options import TrainingConfig, default
from deltaprop.trainer import Callback, CheckpointStore, Trainer
from deltaprop.training_data import TrainingData, data_fingerprint


def _pair(data: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(data, Sequence) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    return data[0], data[1]


def fit(
    net: Network,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    epochs: int = default("epochs"),
    batch_size: int = default("batch_size"),
    eta: float | None = default("eta"),
    lmbda: float = default("lmbda"),
    l1: float = default("l1"),
    regularization_scale: str = default("regularization_scale"),
    optimizer: str = default("optimizer"),
    momentum: float = default("momentum"),
    nesterov: bool = default("nesterov"),
    beta_1: float = default("beta_1"),
    beta_2: float = default("beta_2"),
    epsilon: float = default("epsilon"),
    dropout: float = default("dropout"),
    schedule: int | None = default("schedule"),
    early_stopping: int | None = default("early_stopping"),
    shuffle: bool = default("shuffle"),
    seed: int | None = default("seed"),
    train_metrics: str = default("train_metrics"),
    validation_data: tuple[Any, Any] | None = None,
    test_data: tuple[Any, Any] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool | Any = False,
    should_stop: Callable[[], bool] | None = None,
    checkpoint: CheckpointStore | None = None,
    resume: bool = False,
) -> History:
    """Train ``net`` in place by mini-batch stochastic gradient descent.

    Args:
        net: the network to train.
        X: training inputs, shape (n, sizes[0]); used in place when already of the network's dtype.
        y: class labels of shape (n,) (one-hot encoded internally) or targets (n, sizes[-1]).
        sample_weight: optional weights s_x >= 0 of the rows, shape (n,): each mini-batch's cost is
            then the weighted mean Σ s_x C_x / Σ s_x (so scaling all weights changes nothing).
        epochs .. train_metrics: the training options; ``deltaprop.options.TrainingConfig`` documents
            each (the same table as ``deltaprop train --help``).
        validation_data, test_data: (X, y) pairs evaluated after every epoch.
        callbacks: functions called with each epoch's record (a dict; see ``History``).
        progress: show a progress bar (True), on a given rich Console.
        should_stop: called after every mini-batch; when it returns True, the position is saved to
            ``checkpoint`` (if any) and ``TrainingInterrupted`` raised.
        checkpoint: where to save the trainer's state at the end of every epoch, e.g.
            ``deltaprop.checkpoint.Checkpoint(directory)``.
        resume: continue from the state in ``checkpoint``, with the configuration stored there
            (training options given here must then be left at their defaults or equal).

    Returns:
        The History of per-epoch records (of the whole run, when resuming).

    Raises:
        TrainingDivergedError: the cost or gradient became NaN or infinite; the message names the
            epoch and mini-batches, and no checkpoint of the diverged state is written.
        TrainingInterrupted: ``should_stop`` asked to stop.
    """
    options = {
        "epochs": epochs, "batch_size": batch_size, "eta": eta, "lmbda": lmbda, "l1": l1,
        "regularization_scale": regularization_scale,
        "optimizer": optimizer, "momentum": momentum, "nesterov": nesterov, "beta_1": beta_1,
        "beta_2": beta_2, "epsilon": epsilon, "dropout": dropout, "schedule": schedule,
        "early_stopping": early_stopping, "shuffle": shuffle, "seed": seed,
        "train_metrics": train_metrics,
    }
    saved = _saved_state(checkpoint, resume)
    config = _config_from(options, None if saved is None else saved[0]["config"])
    data = TrainingData(net, X, y, sample_weight, "training")
    monitored = {
        name: TrainingData(net, *_pair(pair, f"{name}_data"), None, name)
        for name, pair in (("validation", validation_data), ("test", test_data)) if pair is not None
    }
    if (config.schedule is not None or config.early_stopping is not None) and (
        "validation" not in monitored
    ):
        raise ValueError("schedule and early_stopping need validation_data, got none")
    trainer = Trainer(net, data, config, Monitor(net, monitored))
    trainer.checkpoint = checkpoint
    trainer.fingerprint = data_fingerprint(data) if checkpoint is not None else {}
    if saved is not None:
        _restore(trainer, *saved)
    if should_stop is not None:
        trainer.should_stop = should_stop
    net.training_config = config.as_dict()
    return trainer.run(list(callbacks), progress)


def _saved_state(checkpoint: CheckpointStore | None,
                 resume: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not resume:
        return None
    if checkpoint is None:
        raise ValueError("resume=True needs a checkpoint to resume from, got checkpoint=None")
    saved = checkpoint.load()
    if saved is None:
        raise FileNotFoundError(f"no checkpoint to resume in {getattr(checkpoint, 'directory', '?')}")
    return saved


def _config_from(options: dict[str, Any], stored: dict[str, Any] | None) -> TrainingConfig:
    """The run's configuration: the options given, or those stored in the checkpoint being resumed."""
    if stored is None:
        return TrainingConfig(**options)
    for name, value in options.items():
        if value != default(name) and value != stored.get(name):
            raise ValueError(
                f"{name}={value!r} differs from the checkpoint's {name}={stored.get(name)!r}; "
                f"a resumed run keeps its original configuration"
            )
    try:
        return TrainingConfig(**stored)
    except (TypeError, ValueError) as error:
        raise ModelFormatError(f"the checkpoint's training configuration is invalid: {error}") from None


def _restore(trainer: Trainer, numbers: dict[str, Any], tensors: dict[str, Any]) -> None:
    if numbers.get("network") != trainer.net.architecture:
        raise ValueError(
            f"the network {trainer.net!r} does not match the checkpoint's {numbers.get('network')}")
    if numbers.get("data") != trainer.fingerprint:
        stored = numbers.get("data") or {}
        raise ValueError(
            f"the training data differ from the checkpoint's: expected {stored.get('rows')} rows x "
            f"{stored.get('columns')} columns with the same values; resume with the data the run "
            f"started with"
        )
    trainer.load_state(numbers, tensors["optimizer"], tensors["weights"], tensors["biases"])


__all__ = ["CheckpointStore", "Trainer", "TrainingConfig", "TrainingData", "fit"]
