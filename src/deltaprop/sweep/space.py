"""The search space of a sweep: a TOML file (or the dict it holds) checked once, key by key.

    [data]       spec (anything ``--data`` accepts), data_dir, subset (first N training rows),
                 scale (the input scaling, as ``--scale``: auto, standard, minmax or none)
    [fixed]      any training option (``deltaprop.options.TrainingConfig``) or network option
    [search]     each: a range { low, high, log, int, step } or { choices = [...] }
    [objective]  metric: validation_accuracy (maximized), validation_cost (minimized), train_*

Every problem is a ``ValueError`` (or ``TypeError``) whose message starts with the key it is about,
e.g. ``search.eta.low: must be > 0 with log = true, got 0``. ``check_network_sizes`` applies the
model format's limits and the memory available to the largest network each hidden setting can draw,
once the data's sizes are known. Nothing here imports optuna: a ``Param`` draws its value from any
object with optuna's ``suggest_*`` methods.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._validation import FLOAT_DTYPES, check_allocation
from deltaprop.activations import ACTIVATIONS
from deltaprop.costs import COSTS
from deltaprop.datasets import AUTO_SCALE, SCALE_CHOICES
from deltaprop.initializers import INITIALIZERS
from deltaprop.limits import MAX_FILE_BYTES, MAX_JSON_DEPTH, MAX_LAYERS, format_bytes, short_repr
from deltaprop.network import DEFAULT_COST
from deltaprop.options import OPTIONS

__all__ = ["METRICS", "NETWORK_DEFAULTS", "Param", "Space", "check_network_sizes", "load_space"]

SECTIONS = ("data", "fixed", "search", "objective")
DATA_KEYS = ("spec", "data_dir", "subset", "scale")
RANGE_KEYS = ("low", "high", "log", "int", "step")
#: The network options and their defaults (those of ``deltaprop train``).
NETWORK_DEFAULTS: dict[str, Any] = {"hidden": [30], "activation": "sigmoid",
                                    "output_activation": None, "cost": DEFAULT_COST,
                                    "init": "default", "dtype": "float64"}
#: The metrics a sweep can optimize: the epoch record's key -> the direction.
METRICS = {"validation_accuracy": "maximize", "validation_cost": "minimize",
           "train_accuracy": "maximize", "train_cost": "minimize"}
TRAINING = {option.name: option for option in OPTIONS}
#: The network options that name one of a registry's entries.
NAMED = {"activation": ACTIVATIONS, "output_activation": ACTIVATIONS, "cost": COSTS,
         "init": INITIALIZERS, "dtype": FLOAT_DTYPES}


def _names(names: Any) -> str:
    return ", ".join(sorted(names))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_hidden(key: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
            isinstance(size, int) and not isinstance(size, bool) and size >= 1 for size in value):
        raise ValueError(f"{key}: expected a list of layer sizes >= 1 like [30] or [100, 30], "
                         f"got {short_repr(value)}")
    # the model file's limits (deltaprop.limits, as its schema applies them): a trial whose model
    # could not be saved is never started
    if len(value) + 1 > MAX_LAYERS:
        raise ValueError(f"{key}: {len(value):,} hidden layers make {len(value) + 1:,} layers, more than "
                         f"the model format's limit of {MAX_LAYERS:,}")
    weights = sum(a * b for a, b in zip(value, value[1:], strict=False)) + sum(value)
    if 8 * weights >= MAX_FILE_BYTES:
        raise ValueError(f"{key}: hidden layers {short_repr(value)} need {format_bytes(8 * weights)} of "
                         f"parameters, more than the model format's limit of {format_bytes(MAX_FILE_BYTES)}")
    return list(value)


def _depth(document: Any) -> int:
    """How deeply tables and lists nest in ``document`` (counted without recursion)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((item, depth + 1) for item in
                             (value.values() if isinstance(value, Mapping) else value))
    return deepest


def _check_name(key: str, value: Any, names: Any, optional: bool = False) -> Any:
    if optional and value is None:
        return None
    if not isinstance(value, str) or value.replace("-", "_") not in names:
        raise ValueError(f"{key}: expected one of {_names(names)}, got {value!r}")
    return value.replace("-", "_")


def check_value(key: str, name: str, value: Any) -> Any:
    """``value`` of option ``name`` checked (``key`` names it in messages); returns it normalized."""
    if name == "hidden":
        return _check_hidden(key, value)
    if name in NAMED:
        return _check_name(key, value, NAMED[name], optional=name == "output_activation")
    if name not in TRAINING:
        raise ValueError(f"{key}: unknown option; expected a training option "
                         f"({_names(TRAINING)}) or a network option ({_names(NETWORK_DEFAULTS)})")
    try:
        return TRAINING[name].check(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{key}: {error}") from None


@dataclass(frozen=True)
class Param:
    """One searched option: a range (``low``..``high``, ``log``, ``integer``, ``step``) or
    ``choices``. Choices that are lists (hidden sizes) are handed to optuna as text, '30,10'."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    integer: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """Draw this option's value for ``trial`` (an optuna Trial); returns the option's value."""
        if self.choices:
            return self.decode(trial.suggest_categorical(self.name, [encode(c) for c in self.choices]))
        if self.integer:  # hidden: one layer's size
            return self.decode(trial.suggest_int(self.name, int(self.low), int(self.high),
                                                 step=int(self.step or 1), log=self.log))
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def decode(self, value: Any) -> Any:
        """The option's value from what optuna stores (text back to a list of sizes)."""
        if self.name == "hidden" and isinstance(value, str):
            return [] if value == "none" else [int(part) for part in value.split(",")]
        if self.name == "hidden" and isinstance(value, int):
            return [value]
        return value


def encode(value: Any) -> Any:
    """A choice as optuna stores it: lists as '30,10' ('none' when empty), others as they are."""
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return value


def _range_param(key: str, name: str, spec: Mapping[str, Any]) -> Param:
    for bound in ("low", "high"):
        if bound not in spec:
            raise ValueError(f"{key}: a range needs low and high, e.g. {{ low = 0.1, high = 1.0 }}")
        if not _is_number(spec[bound]):
            raise ValueError(f"{key}.{bound}: expected a finite number, got {spec[bound]!r}")
    for flag in ("log", "int"):
        if not isinstance(spec.get(flag, False), bool):
            raise ValueError(f"{key}.{flag}: expected true or false, got {spec[flag]!r}")
    kind = "int" if name == "hidden" else TRAINING[name].rule.kind if name in TRAINING else None
    if kind not in ("int", "number"):
        raise ValueError(f"{key}: {name} is not a number; search it with choices = [...]")
    integer = kind == "int" or spec.get("int", False)
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    if integer and not all(isinstance(v, int) for v in (low, high)):
        raise ValueError(f"{key}: {name} is an integer option; low and high must be integers")
    if not low < high:
        raise ValueError(f"{key}.high: must be greater than low ({low}), got {high}")
    if log and low <= 0:
        raise ValueError(f"{key}.low: must be > 0 with log = true, got {low}")
    if step is not None and (not _is_number(step) or step <= 0 or log or (integer and
                                                                           not isinstance(step, int))):
        raise ValueError(f"{key}.step: expected a number > 0 (an integer for integer options), "
                         f"without log = true; got {step!r}")
    if step is not None:  # else Optuna moves high itself, with a warning of its own
        span, unit = Decimal(str(high)) - Decimal(str(low)), Decimal(str(step))
        if span % unit:
            fitting = (span // unit) * unit + Decimal(str(low))
            raise ValueError(f"{key}.step: the range {low}..{high} is not a whole number of steps of "
                             f"{step}; choose high = {fitting} (or a step that divides the range)")
    for bound, value in (("low", low), ("high", high)):
        check_value(f"{key}.{bound}", "batch_size" if name == "hidden" else name, value)
    return Param(name, low, high, log, bool(integer), step)


def parse_param(key: str, name: str, spec: Any) -> Param:
    """The ``[search]`` entry ``name``: a range or choices; ``key`` names it in messages."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"{key}: expected a table like {{ low = 0.1, high = 1.0, log = true }} "
                         f"or {{ choices = [...] }}, got {spec!r}")
    if name == "dtype":
        raise ValueError(f"{key}: the dtype cannot be searched; set it in [fixed]")
    if name not in TRAINING and name not in NETWORK_DEFAULTS:
        check_value(key, name, None)  # raises: unknown option
    if "choices" in spec:
        extra = sorted(set(spec) - {"choices"})
        if extra:
            raise ValueError(f"{key}.{extra[0]}: not allowed with choices")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"{key}.choices: expected a non-empty list, got {choices!r}")
        checked = tuple(check_value(f"{key}.choices[{i}]", name, value) for i, value in enumerate(choices))
        if len({repr(encode(value)) for value in checked}) < len(checked):
            raise ValueError(f"{key}.choices: holds the same value twice")
        return Param(name, choices=checked)
    unknown = sorted(set(spec) - set(RANGE_KEYS))
    if unknown:
        raise ValueError(f"{key}.{unknown[0]}: unknown key; expected {', '.join(RANGE_KEYS)} or choices")
    return _range_param(key, name, spec)


@dataclass(frozen=True)
class Space:
    """A checked search space. ``fixed`` holds every option set for all trials (network options
    at their defaults included); ``search`` the searched ones."""

    data: dict[str, Any]
    fixed: dict[str, Any]
    search: dict[str, Param]
    metric: str = "validation_accuracy"
    name: str = "sweep"
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def direction(self) -> str:
        """'maximize' for accuracies, 'minimize' for costs."""
        return METRICS[self.metric]

    def options(self, trial: Any) -> dict[str, Any]:
        """Every option of one trial: the fixed ones and those drawn for ``trial``."""
        return {**self.fixed, **{name: param.suggest(trial) for name, param in self.search.items()}}

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna's params of a trial as option values (hidden sizes as lists)."""
        return {name: self.search[name].decode(value) if name in self.search else value
                for name, value in params.items()}


def _largest_hidden(space: Space) -> list[tuple[str, list[int]]]:
    """Each hidden-layer list a trial of ``space`` can draw at its largest, with the key naming it:
    the fixed one, every choice, or one layer of a range's ``high`` (which a range reaches: a step
    divides it)."""
    param = space.search.get("hidden")
    if param is None:
        return [("fixed.hidden", space.fixed["hidden"])]
    if param.choices:
        return [(f"search.hidden.choices[{i}]", choice) for i, choice in enumerate(param.choices)]
    return [("search.hidden.high", [int(param.high or 0)])]


def check_network_sizes(space: Space, n_inputs: int, n_outputs: int) -> None:
    """Refuse, before any trial starts, a space whose largest network (with the data's
    ``n_inputs`` and ``n_outputs``) makes a model file beyond the model format's limit
    (``MAX_FILE_BYTES``) or needs more memory than is available: ValueError naming the key."""
    itemsize = np.dtype(space.fixed["dtype"]).itemsize
    for key, hidden in _largest_hidden(space):
        sizes = [n_inputs, *hidden, n_outputs]
        nbytes = itemsize * sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:], strict=False))
        network = f"{key}: a network with sizes {short_repr(sizes)}"
        if nbytes >= MAX_FILE_BYTES:
            raise ValueError(f"{network} makes a model file of {format_bytes(nbytes)}, more than the model "
                             f"format's limit of {format_bytes(MAX_FILE_BYTES)}; choose smaller layers")
        check_allocation(network, nbytes, "choose smaller layers")


def _table(document: Mapping[str, Any], section: str) -> Mapping[str, Any]:
    value = document.get(section, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"[{section}]: expected a table of keys, got {value!r}")
    return value


def _data(section: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(section) - set(DATA_KEYS))
    if unknown:
        raise ValueError(f"data.{unknown[0]}: unknown key; expected {', '.join(DATA_KEYS)}")
    data = {"spec": "digits", "data_dir": None, "subset": None, "scale": AUTO_SCALE, **section}
    if data["scale"] not in SCALE_CHOICES:
        raise ValueError(f"data.scale: expected one of {', '.join(SCALE_CHOICES)}, got {data['scale']!r}")
    for key in ("spec", "data_dir"):
        if data[key] is not None and (not isinstance(data[key], str) or not data[key].strip()):
            raise ValueError(f"data.{key}: expected a non-empty string, got {data[key]!r}")
    subset = data["subset"]
    if subset is not None and (isinstance(subset, bool) or not isinstance(subset, int) or subset < 1):
        raise ValueError(f"data.subset: expected an integer >= 1 (rows of training data), got {subset!r}")
    return data


def _objective(section: Mapping[str, Any]) -> str:
    unknown = sorted(set(section) - {"metric"})
    if unknown:
        raise ValueError(f"objective.{unknown[0]}: unknown key; expected metric")
    metric = section.get("metric", "validation_accuracy")
    if isinstance(metric, str) and metric.startswith("test_"):
        raise ValueError(f"objective.metric: {metric} would tune on the test data; use the "
                         f"validation_ metric of the same name")
    if metric not in METRICS:
        raise ValueError(f"objective.metric: expected one of {', '.join(METRICS)}, got {metric!r}")
    return metric


def parse_space(document: Mapping[str, Any], name: str = "sweep") -> Space:
    """A ``Space`` from the dict of a space file; ValueError naming the first bad key."""
    if not isinstance(document, Mapping):
        raise TypeError(f"space must be a dict or a path to a TOML file, got {type(document).__name__}")
    if _depth(document) > MAX_JSON_DEPTH:
        raise ValueError(f"{name}: tables and lists nest more than {MAX_JSON_DEPTH} deep; a space "
                         f"needs 4 (see docs/sweep.md)")
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise ValueError(f"[{unknown[0]}]: unknown section; expected {', '.join(SECTIONS)}")
    fixed = {**NETWORK_DEFAULTS, **{key: check_value(f"fixed.{key}", key, value)
                                    for key, value in _table(document, "fixed").items()}}
    search = {}
    for key, spec in _table(document, "search").items():
        if key in _table(document, "fixed"):
            raise ValueError(f"search.{key}: also set in [fixed]; keep one of them")
        search[key] = parse_param(f"search.{key}", key, spec)
    if not search:
        raise ValueError("[search]: nothing to search; add a range or choices, e.g. "
                         "eta = { low = 0.05, high = 5.0, log = true }")
    return Space(_data(_table(document, "data")), fixed, search,
                 _objective(_table(document, "objective")), name, dict(document))


def load_space(space: str | os.PathLike[str] | Mapping[str, Any] | Space) -> Space:
    """A checked ``Space`` from a TOML file's path, a dict of its tables, or a ``Space``."""
    if isinstance(space, Space):
        return space
    if isinstance(space, str | os.PathLike):
        path = Path(space).expanduser()
        try:
            with path.open("rb") as file:
                document = tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{space}: not valid TOML: {error}") from None
        except IsADirectoryError:
            raise ValueError(f"{space}: is a folder, not a TOML file") from None
        except RecursionError:
            raise ValueError(f"{space}: tables and lists nest too deeply (a space needs 4 levels; "
                             f"see docs/sweep.md)") from None
        return parse_space(document, path.stem)
    return parse_space(space)
