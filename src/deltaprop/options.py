"""The training options: one table from which ``fit``'s defaults and the command line's options come.

``OPTIONS`` is that table: the options of every run (``RUN_OPTIONS``), then the options each
registered optimizer declares (``deltaprop.optimizers.OPTIMIZERS``), each once. Every option is a
``deltaprop.registry.Option``: its name, default, rule (the one check of its values) and help text.
``TrainingConfig`` is made from the table: one frozen dataclass field per option. ``fit`` takes each
option as a keyword argument defaulting to its default; ``deltaprop train`` makes one ``--flag`` per
option with the same default, rule and help; checkpoints and model files store
``TrainingConfig.as_dict()``, and a stored configuration that predates an option gets its default.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from deltaprop._validation import (
    BOOL,
    FRACTION,
    NONNEGATIVE,
    OPTIONAL_POSITIVE,
    OPTIONAL_POSITIVE_INT,
    OPTIONAL_SEED,
    POSITIVE_INT,
    Rule,
    choice,
)
from deltaprop.optimizers import OPTIMIZERS, Optimizer
from deltaprop.registry import Option
from deltaprop.regularization import SCALES, Regularization
from deltaprop.schedules import MIN_ETA_FRACTION  # in the schedule option's help

TRAIN_METRICS = ("running", "full")
KEEP = ("best", "last")
"""What ``keep`` may name: the epoch of the best validation score, or the last epoch."""
CLASS_WEIGHTS = ("balanced",)
"""What ``class_weight`` may name besides None (``deltaprop.training_data.balanced_weights``)."""

RUN_OPTIONS = (
    Option("epochs", 30, POSITIVE_INT, "passes over the training data"),
    Option("batch_size", 10, POSITIVE_INT, "rows per mini-batch (the last one of an epoch may be shorter)"),
    Option("eta", None, OPTIONAL_POSITIVE,
           "learning rate η (default: the optimizer's; for sgd the cost's, 3.0 for quadratic and 0.5 "
           "for cross-entropy and log-likelihood as in the book; "
           + "; ".join(f"{name} {cls.default_eta:g}" for name, cls in OPTIMIZERS.items() if name != "sgd")
           + ")"),
    Option("lmbda", 0.0, NONNEGATIVE, "L2 regularization λ, the book's (λ/2n) Σ w²"),
    Option("l1", 0.0, NONNEGATIVE, "L1 regularization λ₁, (λ₁/n) Σ |w|"),
    Option("regularization_scale", "training_set", choice(SCALES),
           "the n of λ/n and λ₁/n: the training set's rows (the book) or each mini-batch's total "
           "sample weight (scikit-learn's alpha)"),
    Option("optimizer", "sgd", choice(OPTIMIZERS), "the optimizer"),
)
"""The options every run has, before the optimizers'."""

END_OPTIONS = (
    Option("dropout", 0.0, FRACTION, "probability of dropping each hidden unit, in [0, 1)"),
    Option("schedule", None, OPTIONAL_POSITIVE_INT,
           f"halve η after this many epochs without validation improvement; stop at "
           f"η0/{1 / MIN_ETA_FRACTION:g}",
           metavar="PATIENCE"),
    Option("early_stopping", None, OPTIONAL_POSITIVE_INT,
           "stop after this many epochs without validation improvement", flag="--early-stop",
           metavar="PATIENCE"),
    Option("keep", "best", choice(KEEP),
           "the parameters the run ends with (and saves): 'best', those of the epoch with the best "
           "validation accuracy (of equals, the lowest validation cost, then the earliest; for "
           "targets that are not classes the lowest validation cost), or 'last'; without validation "
           "data the last"),
    Option("shuffle", True, BOOL, "reshuffle the rows every epoch"),
    Option("seed", 0, OPTIONAL_SEED, "seed of the shuffling and the dropout masks (None: fresh entropy)"),
    Option("train_metrics", "running", choice(TRAIN_METRICS),
           "training cost and accuracy per epoch: 'running' (mean over the epoch's mini-batches, "
           "from their forward passes) or 'full' (a pass over the training set)"),
    Option("class_weight", None, Rule("choice", choices=CLASS_WEIGHTS, optional=True),
           "weights of the training rows by class: none, or 'balanced' (scikit-learn's: n_samples / "
           "(n_classes x the row's class count)), multiplied into any sample weights"),
)


def _optimizer_options() -> tuple[Option, ...]:
    """Each registered optimizer's options, once each (an option two optimizers share must be the
    same: same default, rule and help)."""
    found: dict[str, Option] = {}
    for cls in OPTIMIZERS.values():
        for option in cls.options:
            if found.setdefault(option.name, option) != option:
                raise ValueError(f"optimizer {cls.name!r} declares option {option.name!r} unlike "
                                 f"another optimizer's")
    return tuple(found.values())


OPTIONS: tuple[Option, ...] = (*RUN_OPTIONS, *_optimizer_options(), *END_OPTIONS)
"""The table: every training option, in the order of ``deltaprop train --help``."""

DEFAULTS = {option.name: option.default for option in OPTIONS}
"""Each option's default, as ``fit`` and ``deltaprop train`` use it."""

BY_NAME = {option.name: option for option in OPTIONS}


def default(name: str) -> Any:
    """The default of training option ``name``."""
    return DEFAULTS[name]


def default_eta(optimizer: str, cost: Any) -> float:
    """The η of a run that asks for none: the optimizer's (plain SGD's is the cost's,
    ``Cost.default_eta``: the book's 3.0 for the quadratic cost, 0.5 for the others)."""
    return OPTIMIZERS.get_entry(optimizer).eta_for(cost)


def _post_init(self: Any, checked: bool) -> None:
    """Check each value by its option's rule (unless ``checked``: the command line's parser did),
    then the options that must go together; an η of None becomes the optimizer's default."""
    if not checked:
        for option in OPTIONS:
            object.__setattr__(self, option.name, option.check(getattr(self, option.name)))
    optimizer = OPTIMIZERS.get_entry(self.optimizer)
    optimizer.check_together({option.name: getattr(self, option.name) for option in optimizer.options})
    if self.eta is None:
        object.__setattr__(self, "eta", optimizer.default_eta)


def _as_dict(self: Any) -> dict[str, Any]:
    """The configuration as stored in model files, checkpoints and config.json."""
    return {option.name: getattr(self, option.name) for option in OPTIONS}


def _regularization(self: Any) -> Regularization:
    """λ, λ₁ and the n they are divided by (``deltaprop.regularization``)."""
    return Regularization(self.lmbda, self.l1, self.regularization_scale)


def _make_optimizer(self: Any, n: float) -> Optimizer:
    """The optimizer this configuration names, with ``n`` training rows for λ/n."""
    return OPTIMIZERS.get_entry(self.optimizer).from_config(self, n)


TrainingConfig = dataclasses.make_dataclass(
    "TrainingConfig",
    [*((option.name, Any, dataclasses.field(default=option.default)) for option in OPTIONS),
     ("checked", dataclasses.InitVar[bool], dataclasses.field(default=False, kw_only=True))],
    namespace={"__post_init__": _post_init, "as_dict": _as_dict,
               "regularization": property(_regularization), "make_optimizer": _make_optimizer,
               "__doc__": "Everything that defines a training run (one field per option of "
                          "``OPTIONS``); frozen; stored with the model and in checkpoints. "
                          "``checked=True``: the values were checked by their rules already."},
    frozen=True,
)
TrainingConfig.__module__ = __name__  # pickles and shows as deltaprop.options.TrainingConfig
