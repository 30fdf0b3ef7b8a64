"""The declared schema of a checkpoint's training state, and its consistency with the network.

A checkpoint file (``deltaprop.checkpoint``) is a model file whose metadata holds, under
``"checkpoint"``, the state ``Trainer.state()`` returns. ``CheckpointState`` declares every field:
its JSON type (strict), its range, its length, and how the fields agree with each other and with the
network and optimizer slots stored beside them, so that a resumed run never starts from a state the
trainer could not have written. ``validate_state`` raises ``ValueError`` with one line naming the
field, what was expected and what was found.

The state: ``version``; ``config`` (the options of ``deltaprop.options.TrainingConfig``; an option the
file predates takes its default); ``epoch`` (complete epochs) and ``batch`` (mini-batches done of
the next one); ``optimizer`` (``name``, one of ``deltaprop.optimizers.OPTIMIZERS``, ``eta`` and the
step count ``t``); ``best_validation`` and
``epochs_without_improvement`` (the schedule's and early stopping's memory); ``rng`` and
``rng_epoch_start`` (numpy PCG64 states); ``sums`` (the epoch's running sums); ``history``
(one record per complete epoch, why training stopped, and ``kept_epoch``: with ``keep="best"`` the
best epoch so far, whose parameters the file holds as the slot ``deltaprop.history.KEPT_SLOT``
unless its own are those, at the end of that epoch; a state that predates it kept none aside, and
its run keeps the best of the epochs after the resume);
``data`` (rows, columns and BLAKE2b of the training data); ``extra`` (what the caller stores, e.g.
the command line's options).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from deltaprop.history import KEPT_SLOT, validation_score
from deltaprop.limits import MAX_LAYERS, short_list, short_repr
from deltaprop.optimizers import OPTIMIZERS
from deltaprop.options import OPTIONS, TrainingConfig
from deltaprop.schedules import MIN_ETA_FRACTION
from deltaprop.schema import Count, Fraction, Positive, Strict, validation_message

__all__ = ["STATE_VERSION", "CheckpointState", "validate_state"]

STATE_VERSION = 2
"""The version of the checkpoint state this deltaprop writes and resumes."""

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Word128 = Annotated[int, Field(ge=0, lt=2**128)]
HALVINGS = round(-math.log2(MIN_ETA_FRACTION))  # the schedule halves eta at most this often


class PCG64Words(Strict):
    """PCG64's 128-bit state and (odd) stream increment."""

    state: Word128
    inc: Word128

    @field_validator("inc")
    @classmethod
    def _odd(cls, inc: int) -> int:
        if inc % 2 == 0:
            raise ValueError(f"a PCG64 increment is odd, found {short_repr(inc)}")
        return inc


class RngState(Strict):
    """``numpy.random.PCG64().state``."""

    bit_generator: Literal["PCG64"]
    state: PCG64Words
    has_uint32: Annotated[int, Field(ge=0, le=1)]
    uinteger: Annotated[int, Field(ge=0, lt=2**32)]


class OptimizerState(Strict):
    """``Optimizer.state()``'s numbers: its name (one of ``OPTIMIZERS``), η and its step count t
    (absent from files that predate it, but Adam's)."""

    name: str
    eta: PositiveFinite
    t: Count | None = None

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in OPTIMIZERS:
            raise ValueError(OPTIMIZERS.unknown(name[:64]))
        return name


class Sums(Strict):
    """``EpochSums.state()``: the running sums of the epoch in progress."""

    cost_sum: Finite
    weight_sum: NonNegative
    correct: Count
    rows: Count
    batches: Count
    has_labels: bool
    nabla_b_sum: Annotated[list[list[Finite]], Field(max_length=MAX_LAYERS)]


class Record(Strict):
    """One epoch's record (see ``deltaprop.history.History``)."""

    epoch: Positive
    eta: PositiveFinite
    seconds: NonNegative
    train_cost: Finite | None
    train_accuracy: Fraction | None
    validation_cost: Finite | None
    validation_accuracy: Fraction | None
    test_cost: Finite | None
    test_accuracy: Fraction | None
    learning_speed: Annotated[list[NonNegative], Field(max_length=MAX_LAYERS)]
    saturation: Annotated[list[Fraction | None], Field(max_length=MAX_LAYERS)]


class HistoryState(Strict):
    """``History.as_dict()``."""

    records: list[Record]
    stop_reason: Annotated[str, Field(min_length=1, max_length=1000)]
    kept_epoch: Positive | None = None


class DataFingerprint(Strict):
    """``data_fingerprint()`` of the training data."""

    rows: Positive
    columns: Positive
    blake2b: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class CheckpointState(Strict):
    """The ``"checkpoint"`` object of a checkpoint file's metadata."""

    version: Literal[2]  # STATE_VERSION
    config: dict[str, Any]
    epoch: Count
    batch: Count
    optimizer: OptimizerState
    best_validation: Fraction | None
    epochs_without_improvement: Count
    rng: RngState
    rng_epoch_start: RngState
    sums: Sums
    history: HistoryState
    data: DataFingerprint
    extra: dict[str, Any]

    @field_validator("config")
    @classmethod
    def _options(cls, config: dict[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {option.name for option in OPTIONS}
        if unknown:
            raise ValueError(f"'config' holds training options only, found unknown "
                             f"{short_list(sorted(unknown))}")
        if config.get("eta") is None:
            raise ValueError("'config': the stored eta must be a number, found None")
        return config

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> CheckpointState:
        context = info.context or {}
        try:  # options the file predates take their defaults
            config = TrainingConfig(**self.config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"'config': {error}") from None
        per_epoch = -(-self.data.rows // config.batch_size)
        sizes = context.get("sizes")
        if sizes is not None and self.data.columns != sizes[0]:
            raise ValueError(f"'data.columns' is {self.data.columns}, but the network takes {sizes[0]} "
                             f"inputs")
        _check_position(self, config, per_epoch)
        _check_optimizer(self, config, per_epoch, context.get("slots"))
        _check_records(self, sizes)
        _check_kept(self, config, context.get("slots"))
        _check_sums(self, config, sizes)
        _check_generators(self)
        return self


def _check_position(state: CheckpointState, config: TrainingConfig, per_epoch: int) -> None:
    """epoch, batch and the history agree with each other and the configuration."""
    records = len(state.history.records)
    if state.epoch > config.epochs:
        raise ValueError(f"'epoch' is {state.epoch}, more than the {config.epochs} epochs configured")
    if records != state.epoch:
        raise ValueError(f"'epoch' is {state.epoch}, but the history holds {records} records "
                         f"(one per complete epoch)")
    if state.batch >= per_epoch or (state.batch and state.epoch == config.epochs):
        raise ValueError(f"'batch' is {state.batch}, but epoch {state.epoch + 1} has "
                         f"{per_epoch if state.epoch < config.epochs else 0} mini-batches "
                         f"({state.data.rows} rows in batches of {config.batch_size})")
    if state.epochs_without_improvement > state.epoch:
        raise ValueError(f"'epochs_without_improvement' is {state.epochs_without_improvement}, more "
                         f"than the {state.epoch} epochs trained")


def _check_optimizer(state: CheckpointState, config: TrainingConfig, per_epoch: int,
                     slots: list[str] | None) -> None:
    """The optimizer's name, eta, step count and slots agree with the configuration."""
    optimizer = state.optimizer
    if optimizer.name != config.optimizer:
        raise ValueError(f"'optimizer.name' is {optimizer.name!r}, but the configuration says "
                         f"{config.optimizer!r}")
    allowed = [config.eta / 2**k for k in range(HALVINGS + 1 if config.schedule is not None else 1)]
    if optimizer.eta not in allowed:
        raise ValueError(f"'optimizer.eta' is {optimizer.eta!r}, expected the configured eta "
                         f"{config.eta!r}" + (" halved at most 7 times" if len(allowed) > 1 else ""))
    steps = state.epoch * per_epoch + state.batch
    if optimizer.t not in (steps, None) or (optimizer.t is None and optimizer.name == "adam"):
        raise ValueError(f"'optimizer.t' is {optimizer.t!r}, expected {steps} (the steps taken)")
    expected = sorted(config.make_optimizer(state.data.rows).slots)
    slots = None if slots is None else sorted(slot for slot in slots if slot != KEPT_SLOT)
    if slots is not None and slots not in ([], expected):
        raise ValueError(f"the file holds optimizer slots {short_list(slots)}, but "
                         f"{config.optimizer} keeps {expected or 'none'}")


def _check_records(state: CheckpointState, sizes: list[int] | None) -> None:
    """Each record is its epoch's, per layer where it should be, and best_validation their best."""
    layers = None if sizes is None else len(sizes) - 1
    for i, record in enumerate(state.history.records):
        if record.epoch != i + 1:
            raise ValueError(f"'history.records.{i}.epoch' is {record.epoch}, expected {i + 1}")
        for name in ("learning_speed", "saturation"):
            found = len(getattr(record, name))
            if layers is not None and found != layers:
                raise ValueError(f"'history.records.{i}.{name}' lists {found} values, expected one "
                                 f"per layer ({layers})")
    accuracies = [r.validation_accuracy for r in state.history.records if r.validation_accuracy is not None]
    best = max(accuracies) if accuracies else None
    if state.best_validation != best:
        raise ValueError(f"'best_validation' is {state.best_validation!r}, but the best validation "
                         f"accuracy in the history is {best!r}")


def _check_kept(state: CheckpointState, config: TrainingConfig, slots: list[str] | None) -> None:
    """``history.kept_epoch`` names an epoch trained, with a validation score no later epoch beats,
    under ``keep="best"``; the file holds its parameters (slot ``KEPT_SLOT``) exactly then, unless
    the file's own parameters are those (the state is at the end of the kept epoch)."""
    kept = state.history.kept_epoch
    stored = kept is not None and (kept, state.batch) != (state.epoch, 0)
    if slots is not None and (KEPT_SLOT in slots) != stored:
        raise ValueError(f"'history.kept_epoch' is {kept!r} after {state.epoch} epochs and "
                         f"{state.batch} mini-batches, but the file "
                         f"{'holds' if KEPT_SLOT in slots else 'lacks'} kept parameters "
                         f"({KEPT_SLOT!r} tensors)")
    if kept is None:
        return
    if config.keep != "best":
        raise ValueError(f"'history.kept_epoch' is {kept}, but keep is {config.keep!r}: nothing is "
                         f"kept aside")
    if kept > state.epoch:
        raise ValueError(f"'history.kept_epoch' is {kept}, more than the {state.epoch} epochs trained")
    scores = [validation_score(record.model_dump()) for record in state.history.records]
    best = scores[kept - 1]
    if best is None or any(score is not None and score > best for score in scores[kept:]):
        raise ValueError(f"'history.kept_epoch' is {kept}, but that epoch's validation score is not "
                         f"the best of it and the epochs after it")


def _check_sums(state: CheckpointState, config: TrainingConfig, sizes: list[int] | None) -> None:
    """The running sums cover the mini-batches done, with one bias-gradient sum per layer."""
    sums = state.sums
    rows = state.batch * config.batch_size
    if sums.batches != state.batch or sums.rows != rows or sums.correct > sums.rows:
        raise ValueError(f"'sums' count {sums.batches} mini-batches, {sums.rows} rows and "
                         f"{sums.correct} correct, expected {state.batch} mini-batches of {rows} rows")
    if sizes is not None and [len(total) for total in sums.nabla_b_sum] != list(sizes[1:]):
        raise ValueError(f"'sums.nabla_b_sum' must hold one sum per unit of each layer, "
                         f"{short_repr(list(sizes[1:]))}")


def _check_generators(state: CheckpointState) -> None:
    """Both generator states are of one PCG64 stream, and numpy takes them."""
    if state.rng.state.inc != state.rng_epoch_start.state.inc:
        raise ValueError("'rng' and 'rng_epoch_start' must be states of one generator (the same "
                         "PCG64 increment)")
    for field in ("rng", "rng_epoch_start"):
        try:
            np.random.PCG64().state = getattr(state, field).model_dump()
        except (TypeError, ValueError, KeyError, OverflowError) as error:  # pragma: no cover
            raise ValueError(f"{field!r} is not a PCG64 state: {error}") from None


def validate_state(state: Any, sizes: list[int] | None = None,
                   slots: list[str] | None = None) -> dict[str, Any]:
    """``state`` checked against ``CheckpointState`` and, where given, the network's ``sizes`` and
    the optimizer ``slots`` stored with it; returns ``state``.

    Raises:
        ValueError: one line naming the field, what was expected and what was found.
    """
    try:
        CheckpointState.model_validate(state, context={"sizes": sizes, "slots": slots})
    except ValidationError as error:
        raise ValueError(validation_message(error, "checkpoint state")) from None
    return state

