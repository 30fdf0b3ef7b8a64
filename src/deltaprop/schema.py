"""The declared schema of a model file's metadata, and the one-line messages of its violations.

``ModelMetadata`` is the ``"deltaprop"`` JSON object of a model file (``deltaprop.io``): its types
(strict: no bool for a number, no string for a list), ranges, lengths and the consistency of its
fields with each other. ``deltaprop.model_format`` checks every file read against it, and
``deltaprop.io.save`` every file written, so that deltaprop never writes what it would refuse to
read. ``classes`` holds ``Network.classes`` when it is set. The fields ``deltaprop train`` adds
(``dataset`` .. ``validation_accuracy``, ``data_dir`` the absolute data folder) are declared too;
other keys a user adds with ``extra_metadata`` may hold any JSON within the limits of
``deltaprop.limits``. ``validation_message`` turns a pydantic ``ValidationError`` into one line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from deltaprop._validation import MAX_CLASS_NAME_CHARS
from deltaprop.activations import ACTIVATIONS
from deltaprop.costs import COSTS
from deltaprop.limits import (
    MAX_CLASSES,
    MAX_COLUMN_NAME_CHARS,
    MAX_LAYERS,
    MAX_MESSAGE_CHARS,
    MAX_SLOTS,
    MAX_TABLE_COLUMNS,
    short_list,
    short_repr,
    shorten,
)
from deltaprop.scaling import SCALINGS

__all__ = ["FORMAT_VERSION", "SCALING_VERSION", "ModelMetadata", "validate_model_metadata",
           "validation_message"]

FORMAT_VERSION = 2
"""The newest model format this deltaprop reads and writes: 2 added the input scaling (a model
without one is still written as version 1, so older deltaprop versions read it)."""
SCALING_VERSION = 2
"""The first format version with an input scaling."""

SLOT_NAME_LENGTH = 64
TEXT_LENGTH = 4096  # version strings, data set names and specs

Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Text = Annotated[str, Field(max_length=TEXT_LENGTH)]
ClassLabel = Annotated[int, Field(strict=True)] | Annotated[str, Field(max_length=MAX_CLASS_NAME_CHARS)]
ColumnName = Annotated[str, Field(min_length=1, max_length=MAX_COLUMN_NAME_CHARS)]
SlotName = Annotated[str, Field(min_length=1, max_length=SLOT_NAME_LENGTH, pattern=r"^[A-Za-z_]\w*$")]


class Strict(BaseModel):
    """Base of the schemas: strict types (JSON's), unknown keys refused."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class ModelMetadata(Strict):
    """The ``"deltaprop"`` metadata object of a model file."""

    model_config = ConfigDict(extra="allow")  # extra_metadata: any JSON within deltaprop.limits

    format_version: Annotated[int, Field(ge=1, le=FORMAT_VERSION)]
    sizes: Annotated[list[Positive], Field(min_length=2, max_length=MAX_LAYERS + 1)]
    activations: Annotated[list[Annotated[str, Field(max_length=TEXT_LENGTH)]],
                           Field(max_length=MAX_LAYERS)]
    cost: Text
    dtype: Literal["float32", "float64"]
    training: dict[str, Any]
    deltaprop_version: Annotated[str, Field(max_length=64)]
    slots: Annotated[list[SlotName], Field(max_length=MAX_SLOTS)] = []
    # written by ``deltaprop train`` for evaluate and predict
    dataset: Text | None = None
    data_spec: Text | None = None
    data_dir: Text | None = None  # the absolute folder the model's data came from
    data_seed: Count | None = None
    n_classes: Annotated[int, Field(ge=1, le=MAX_CLASSES)] | None = None
    classes: Annotated[list[ClassLabel], Field(min_length=1, max_length=MAX_CLASSES)] | None = None
    image_shape: Annotated[list[Positive], Field(min_length=2, max_length=2)] | None = None
    label_column: ColumnName | None = None  # a table's label column, and its feature columns in order
    features: Annotated[list[ColumnName], Field(min_length=1, max_length=MAX_TABLE_COLUMNS)] | None = None
    validation_data: Text | None = None  # held-out table files the model was trained with, absolute
    test_data: Text | None = None
    test_accuracy: Fraction | None = None
    validation_accuracy: Fraction | None = None
    kept_epoch: Positive | None = None  # the epoch whose parameters the file holds (--keep)
    checkpoint: dict[str, Any] | None = None  # checked by deltaprop.checkpoint_schema when resuming
    scaling: Text | None = None  # the kind of the input scaling, whose tensors the file holds

    @field_validator("scaling")
    @classmethod
    def _known_scaling(cls, name: str | None) -> str | None:
        if name is not None and name not in SCALINGS:
            raise ValueError(f"unknown scaling {short_repr(name)}; known scalings are {sorted(SCALINGS)}")
        return name

    @model_validator(mode="after")
    def _features_fit(self) -> ModelMetadata:
        if self.features is not None and (len(self.features) != self.sizes[0]
                                          or len(set(self.features)) != len(self.features)):
            raise ValueError(f"'features' must name {self.sizes[0]} distinct columns (one per input), "
                             f"got {short_list(self.features)}")
        return self

    @field_validator("activations")
    @classmethod
    def _known_activations(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in ACTIVATIONS:
                raise ValueError(
                    f"unknown activation {short_repr(name)}; known activations are "
                    f"{sorted(ACTIVATIONS)}. If it is a custom activation, call register_activation "
                    f"for it before loading")
        return names

    @field_validator("cost")
    @classmethod
    def _known_cost(cls, name: str) -> str:
        if name not in COSTS:
            raise ValueError(
                f"unknown cost {short_repr(name)}; known costs are {sorted(COSTS)}. If it is a "
                f"custom cost, call register_cost for it before loading")
        return name

    @field_validator("slots")
    @classmethod
    def _distinct_slots(cls, slots: list[str]) -> list[str]:
        if len(set(slots)) != len(slots):
            raise ValueError(f"slot names must be distinct, got {short_list(slots)}")
        return slots

    @model_validator(mode="after")
    def _consistent(self) -> ModelMetadata:
        layers = len(self.sizes) - 1
        if len(self.activations) != layers:
            raise ValueError(
                f"'activations' must list {layers} names (one per layer after the input) for sizes "
                f"{short_repr(self.sizes)}, got {len(self.activations)}: {short_repr(self.activations)}")
        if self.classes is not None and (
                len(self.classes) != self.sizes[-1] or len(set(self.classes)) != len(self.classes)
                or len({type(label) for label in self.classes}) != 1):
            raise ValueError(
                f"'classes' must list {self.sizes[-1]} distinct labels of one type (one per output "
                f"unit), got {short_list(self.classes)}")
        if self.scaling is not None and self.format_version < SCALING_VERSION:
            raise ValueError(f"'scaling' needs format_version {SCALING_VERSION} or later, got "
                             f"{self.format_version}")
        if self.image_shape is not None and self.image_shape[0] * self.image_shape[1] != self.sizes[0]:
            raise ValueError(
                f"'image_shape' {list(self.image_shape)} has {self.image_shape[0] * self.image_shape[1]} "
                f"pixels, but the network takes {self.sizes[0]} inputs")
        return self


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


def validation_message(error: ValidationError, what: str) -> str:
    """One line (at most ``MAX_MESSAGE_CHARS``) saying which field of ``what`` is wrong, what was
    expected and what was found; the first problem is described, the others counted."""
    problems = error.errors(include_url=False)
    first = problems[0]
    kind, field = first["type"], _where(first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ").replace("Input should be", "expected")
    message = message.replace(" after validation", "")
    if kind == "missing":
        text = f"{what} lacks the required field {field!r}"
    elif kind == "extra_forbidden":
        text = f"{what} has the unknown field {field!r}"
    elif kind == "value_error":  # our validators name the field and the value found
        text = f"{what}: {field + ': ' if field else ''}{message}"
    else:
        text = f"{what}, field {field!r}: {message}, found {short_repr(first.get('input'))}"
    if len(problems) > 1:
        more = len(problems) - 1
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return shorten(text, MAX_MESSAGE_CHARS)


def validate_model_metadata(meta: Any, what: str = "the deltaprop metadata") -> ModelMetadata:
    """``meta`` checked against ``ModelMetadata``.

    Raises:
        ValueError: one line from ``validation_message``.
    """
    try:
        return ModelMetadata.model_validate(meta)
    except ValidationError as error:
        raise ValueError(validation_message(error, what)) from None
