"""The training options: one table from which ``fit``'s defaults and the command line's options come.

``TrainingConfig`` is that table. Each field is one option: its name, its type, its default, and in
its metadata the help text, the check applied to it and, where it differs from the name, the
command-line flag. ``fit`` takes each option as a keyword argument defaulting to the field's default;
``deltaprop train`` makes one ``--flag`` per field with the same default and help. A run's
configuration is stored with its model and checkpoints as ``TrainingConfig.as_dict()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from deltaprop._validation import check_number, check_positive_int

OPTIMIZER_NAMES = ("sgd", "adam")
REGULARIZATION_SCALES = ("training_set", "mini_batch")
TRAIN_METRICS = ("running", "full")
DEFAULT_ETA = {"sgd": 0.5, "adam": 0.001}
"""η of a configuration made with eta=None; ``fit`` and ``deltaprop train`` first give plain SGD
its cost's (``default_eta``)."""


def default_eta(optimizer: str, cost: Any) -> float | None:
    """The η a run asking for none gets before its ``TrainingConfig`` is made: plain SGD's is the
    cost's (``Cost.default_eta``: the book's 3.0 for the quadratic cost, 0.5 for the others); None
    for other optimizers, which ``TrainingConfig`` then gives ``DEFAULT_ETA`` (or refuses by name)."""
    return cost.default_eta if optimizer == "sgd" else None


def _option(default: Any, help: str, check: str, flag: str | None = None,
            metavar: str | None = None, choices: tuple[str, ...] | None = None) -> Any:
    metadata = {"help": help, "check": check, "flag": flag, "metavar": metavar, "choices": choices}
    return field(default=default, metadata=metadata)


@dataclass
class TrainingConfig:
    """Everything that defines a training run; stored with the model and in checkpoints."""

    epochs: int = _option(30, "passes over the training data", "positive_int")
    batch_size: int = _option(10, "rows per mini-batch (the last one of an epoch may be shorter)",
                              "positive_int")
    eta: float | None = _option(
        None, "learning rate η (default: the cost's for sgd, 3.0 for quadratic and 0.5 for "
        "cross-entropy and log-likelihood as in the book; 0.001 for adam)", "positive")
    lmbda: float = _option(0.0, "L2 regularization λ, the book's (λ/2n) Σ w²", "nonnegative")
    l1: float = _option(0.0, "L1 regularization λ₁, (λ₁/n) Σ |w|", "nonnegative")
    regularization_scale: str = _option(
        "training_set", "the n of λ/n and λ₁/n: the training set's rows (the book) or each "
        "mini-batch's total sample weight (scikit-learn's alpha)", "choice",
        choices=REGULARIZATION_SCALES)
    optimizer: str = _option("sgd", "the optimizer", "choice", choices=OPTIMIZER_NAMES)
    momentum: float = _option(0.0, "SGD momentum μ in [0, 1)", "fraction")
    nesterov: bool = _option(False, "Nesterov momentum (needs a momentum > 0)", "bool")
    beta_1: float = _option(0.9, "Adam's decay of the gradient's mean, in [0, 1)", "fraction")
    beta_2: float = _option(0.999, "Adam's decay of the gradient's square, in [0, 1)", "fraction")
    epsilon: float = _option(1e-8, "Adam's ε", "positive")
    dropout: float = _option(0.0, "probability of dropping each hidden unit, in [0, 1)", "fraction")
    schedule: int | None = _option(
        None, "halve η after this many epochs without validation improvement; stop at η0/128",
        "optional_positive_int", metavar="PATIENCE")
    early_stopping: int | None = _option(
        None, "stop after this many epochs without validation improvement",
        "optional_positive_int", flag="--early-stop", metavar="PATIENCE")
    shuffle: bool = _option(True, "reshuffle the rows every epoch", "bool")
    seed: int | None = _option(0, "seed of the shuffling and the dropout masks (None: fresh entropy)",
                               "optional_seed")
    train_metrics: str = _option(
        "running", "training cost and accuracy per epoch: 'running' (mean over the epoch's "
        "mini-batches, from their forward passes) or 'full' (a pass over the training set)",
        "choice", choices=TRAIN_METRICS)

    def __post_init__(self) -> None:
        for option in dataclasses.fields(self):
            setattr(self, option.name, _checked(option, getattr(self, option.name)))
        if self.eta is None:
            self.eta = DEFAULT_ETA[self.optimizer]
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs a momentum > 0, got momentum=0")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _checked(option: dataclasses.Field[Any], value: Any) -> Any:
    name, check = option.name, option.metadata["check"]
    if value is None and (check.startswith("optional") or name == "eta"):
        return None
    if check == "positive_int" or check == "optional_positive_int":
        return check_positive_int(name, value)
    if check == "optional_seed":
        return check_positive_int(name, value, minimum=0)
    if check == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return value
    if check == "choice":
        if value not in option.metadata["choices"]:
            raise ValueError(f"{name} must be one of {list(option.metadata['choices'])}, got {value!r}")
        return value
    return check_number(name, value, positive=check == "positive", nonnegative=check != "positive",
                        below_one=check == "fraction")


OPTIONS: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(TrainingConfig)
"""The table: one dataclass field per training option (name, type, default, metadata)."""

DEFAULTS = {option.name: option.default for option in OPTIONS}
"""Each option's default, as ``fit`` and ``deltaprop train`` use it."""


def default(name: str) -> Any:
    """The default of training option ``name``."""
    return DEFAULTS[name]
