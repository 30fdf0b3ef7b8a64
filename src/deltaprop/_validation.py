"""Checks of user input, done up front so that errors name the argument, not a numpy internal."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from deltaprop.limits import MAX_CLASSES, check_memory, short_list

FLOAT_DTYPES = ("float32", "float64")


def check_dtype(dtype: object) -> np.dtype:
    """The numpy dtype for 'float32' or 'float64' (names, numpy types or dtypes)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {list(FLOAT_DTYPES)}, got {dtype!r}")
    return resolved


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_number(
    name: str, value: object, *, positive: bool = False, nonnegative: bool = False,
    below_one: bool = False,
) -> float:
    """A finite real number, optionally > 0, >= 0 and/or < 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    bounds = [(text, holds) for wanted, text, holds in ((positive, "> 0", value > 0),
              (nonnegative, ">= 0", value >= 0), (below_one, "< 1", value < 1)) if wanted]
    if not np.isfinite(value) or not all(holds for _, holds in bounds):
        expectation = f"a finite number {' and '.join(text for text, _ in bounds)}".rstrip()
        raise ValueError(f"{name} must be {expectation}, got {value}")
    return value


@dataclass(frozen=True)
class Rule:
    """The one rule for a kind of value: Python values are checked by ``check``, command-line text
    is parsed by ``parse``, and schemas and sweep spaces call ``check``; messages say what was
    expected. ``kind``: 'int' (integers >= ``minimum``), 'number' (finite reals, ``positive`` > 0 or
    >= 0, ``below_one`` < 1), 'bool', or 'choice' (one of ``choices``, a tuple or a registry read
    when checking). ``optional``: None is allowed too."""

    kind: str
    minimum: int = 1
    positive: bool = False
    below_one: bool = False
    optional: bool = False
    choices: Any = ()

    def expected(self) -> str:
        """What the rule accepts, as messages say it: 'an integer >= 1', 'a number in [0, 1)'."""
        if self.kind == "int":
            return f"an integer >= {self.minimum}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        if self.below_one:
            return "a number in [0, 1)"
        return "a number > 0" if self.positive else "a number >= 0"

    def check(self, name: str, value: Any) -> Any:
        """``value`` of ``name`` checked; returns it normalized (int, float, bool, the choice).

        Raises:
            TypeError: the wrong type (a bool for a number, a string for an integer).
            ValueError: out of range, or not among the choices.
        """
        if value is None and self.optional:
            return None
        if self.kind == "int":
            return check_positive_int(name, value, minimum=self.minimum)
        if self.kind == "bool":
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"{name} must be True or False, got {value!r}")
            return bool(value)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{name} must be one of {list(self.choices)}, got {value!r}")
            return value
        return check_number(name, value, positive=self.positive, nonnegative=not self.positive,
                            below_one=self.below_one)

    def parse(self, text: str) -> Any:
        """A value from command-line text, checked (ValueError saying what was expected)."""
        if self.optional and text.strip().lower() == "none":
            return None
        try:
            if self.kind == "bool":
                value: Any = {"true": True, "yes": True, "false": False, "no": False}[text.lower()]
            elif self.kind == "int":
                value = int(text)
            elif self.kind == "number":
                value = float(text)
            else:
                value = text.strip().replace("-", "_")
            return self.check("value", value)
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"expected {self.expected()}, got {text!r}") from None


POSITIVE_INT = Rule("int")
NONNEGATIVE_INT = Rule("int", minimum=0)
OPTIONAL_POSITIVE_INT = Rule("int", optional=True)
OPTIONAL_SEED = Rule("int", minimum=0, optional=True)
POSITIVE = Rule("number", positive=True)
OPTIONAL_POSITIVE = Rule("number", positive=True, optional=True)
NONNEGATIVE = Rule("number")
FRACTION = Rule("number", below_one=True)
BOOL = Rule("bool")


def choice(choices: Any) -> Rule:
    """The rule of a name among ``choices`` (a tuple, or a registry read when checking)."""
    return Rule("choice", choices=choices)


def _real_array(name: str, value: object) -> np.ndarray:
    """``value`` as an array of real numbers (integers, floats or booleans); TypeError otherwise."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers: {error}") from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def as_float_matrix(name: str, value: object, columns: int, dtype: np.dtype) -> np.ndarray:
    """``value`` as a finite 2-D array of shape (m, columns), m >= 1, in ``dtype``.

    A single example of shape (columns,) is taken as one row.
    """
    array = _real_array(name, value)
    if array.ndim == 1 and array.shape[0] == columns:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(
            f"{name} must have shape (m, {columns}) (one row per example), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one row of {columns} values")
    array = array.astype(dtype, copy=False)
    if not all_finite(array):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite numbers")
    return array


FINITE_CHECK_ROWS = 4096
"""Rows checked for NaN and infinity at a time: the check's temporary stays small (a few MB)."""


def first_non_finite(array: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or infinite entry of a float array (rows first), or None; checked
    FINITE_CHECK_ROWS rows at a time, so the temporary stays small whatever the array's size."""
    if array.ndim == 0:
        return None if np.isfinite(array) else ()
    for start in range(0, array.shape[0], FINITE_CHECK_ROWS):
        bad = ~np.isfinite(array[start:start + FINITE_CHECK_ROWS])
        if bad.any():
            index = np.argwhere(bad)[0]
            return (start + int(index[0]), *(int(i) for i in index[1:]))
    return None


def all_finite(array: np.ndarray) -> bool:
    """Whether every entry of a float array (rows first) is finite, in bounded extra memory."""
    return first_non_finite(array) is None


MAX_CLASS_NAME_CHARS = 256
"""The longest class label that is a string (it is stored in model files)."""


def label_array(name: str, value: object, *, error: type[ValueError] = ValueError,
                where: Callable[[int], str] | None = None) -> np.ndarray:
    """``value`` as a non-empty 1-D array of class labels of any kind: int64 for integers (and floats
    holding whole numbers), str for strings (at most ``MAX_CLASS_NAME_CHARS`` characters each).

    Raises:
        error: not 1-D, empty, a float that is not a whole number, a string too long.
        TypeError: neither numbers nor strings (booleans, mixed objects).
    """
    where = where or (lambda i: f"{name}[{i}]")
    array = np.asarray(value)
    if array.ndim != 1:
        raise error(f"{name} must be a 1-D array of class labels, got shape {array.shape}")
    if array.size == 0:
        raise error(f"{name} is empty: expected at least one label")
    if array.dtype == object and all(isinstance(item, str) for item in array):
        array = array.astype(str)
    if array.dtype.kind == "U":
        if array.dtype.itemsize // 4 > MAX_CLASS_NAME_CHARS:
            i = int(np.argmax(np.char.str_len(array)))
            raise error(f"{where(i)} is a label of {len(array[i])} characters; expected at most "
                        f"{MAX_CLASS_NAME_CHARS}")
        return array
    if np.issubdtype(array.dtype, np.floating):
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(~np.isfinite(array) | (array != np.round(array))
                                 | (np.abs(array) > 2.0**62))
        if bad.size:
            i = int(bad[0])
            raise error(f"{where(i)} = {array[i]:.6g} is not a whole number; class labels are "
                        f"integers or strings")
    elif array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold class labels (integers or strings), got dtype {array.dtype}")
    return array.astype(np.int64)


def as_labels(
    name: str,
    value: object,
    n_classes: int | None = None,
    *,
    classes: np.ndarray | None = None,
    error: type[ValueError] = ValueError,
    where: Callable[[int], str] | None = None,
) -> np.ndarray:
    """``value`` as a 1-D int64 array of class indices: labels in [0, n_classes) (or
    [0, MAX_CLASSES)) as they are, or, when ``classes`` is given, each label's index in ``classes``.

    The one label check of deltaprop: the library, the data loaders and the command line all use it.

    Args:
        name: what the labels are, for messages (``"y"``, ``"mnist.idx: labels"``).
        value: integers, floats holding whole numbers, or (with ``classes``) strings.
        n_classes: labels must be below it; None allows up to ``MAX_CLASSES``.
        classes: the class labels (``Network.classes``); every label must be one of them.
        error: the ValueError subclass to raise for bad values (loaders raise DataFormatError).
        where: names entry i in messages (default ``f"{name}[{i}]"``).

    Raises:
        error: not 1-D, empty, not whole numbers, out of range or not among ``classes`` (the
            message names the first bad entry and what was expected).
        TypeError: not numbers (nor strings, with ``classes``) at all.
    """
    where = where or (lambda i: f"{name}[{i}]")
    array = label_array(name, value, error=error, where=where)
    if classes is not None:
        return encode_labels(array, classes, error, where)
    if array.dtype.kind == "U":
        raise TypeError(
            f"{name} holds strings ({array[0].item()!r}, ...) but the network has no classes: fit sets "
            f"them from the labels, or build it with Network(..., classes=...)")
    limit = MAX_CLASSES if n_classes is None else n_classes
    bad = np.flatnonzero((array < 0) | (array >= limit))
    if bad.size:
        i = int(bad[0])
        raise error(
            f"{where(i)} = {array[i]}; expected class labels in [0, {limit - 1}]"
            + ("" if n_classes is not None else f" (at most {MAX_CLASSES} classes)")
        )
    return array


def encode_labels(labels: np.ndarray, classes: np.ndarray, error: type[ValueError] = ValueError,
                  where: Callable[[int], str] = lambda i: f"y[{i}]") -> np.ndarray:
    """The index in ``classes`` of each of ``labels`` (from ``label_array``), int64 (m,)."""
    if (labels.dtype.kind == "U") != (classes.dtype.kind == "U"):
        raise error(f"{where(0)} = {labels[0].item()!r} is not one of the classes "
                    f"{short_list(classes.tolist())}")
    order = np.argsort(classes, kind="stable")
    ordered = classes[order]
    position = np.minimum(np.searchsorted(ordered, labels), ordered.size - 1)
    bad = np.flatnonzero(ordered[position] != labels)
    if bad.size:
        i = int(bad[0])
        raise error(f"{where(i)} = {labels[i].item()!r} is not one of the classes "
                    f"{short_list(classes.tolist())}")
    return order[position].astype(np.int64)


def as_classes(name: str, value: object, n_out: int) -> np.ndarray:
    """The class labels of a classifier with ``n_out`` output units: ``n_out`` distinct integers or
    strings (from ``label_array``), unit j predicting ``classes[j]``."""
    classes = label_array(name, value)
    if classes.size != n_out:
        raise ValueError(f"{name} must name {n_out} classes, one per output unit, got "
                         f"{classes.size}: {short_list(classes.tolist())}")
    if np.unique(classes).size != classes.size:
        raise ValueError(f"{name} must be distinct, got {short_list(classes.tolist())}")
    return classes


def classes_of(name: str, value: object, n_out: int) -> np.ndarray | None:
    """The classes ``fit`` gives a network that has none, from its training labels: None when the
    labels are already output-unit indices (integers in [0, n_out)), else their sorted distinct
    values, which must number ``n_out``."""
    labels = label_array(name, value)
    if labels.dtype.kind != "U" and labels.min() >= 0 and labels.max() < n_out:
        return None
    classes = np.unique(labels)
    if classes.size != n_out:
        i = 0 if labels.dtype.kind == "U" else int(np.flatnonzero((labels < 0) | (labels >= n_out))[0])
        raise ValueError(
            f"{name}[{i}] = {labels[i].item()!r}; expected class labels in [0, {n_out - 1}] (the output "
            f"units' indices), or {n_out} distinct labels, one per output unit, got "
            f"{classes.size}: {short_list(classes.tolist())}; build the network with sizes[-1] = "
            f"{classes.size}, or with Network(..., classes=[...])")
    return classes


def one_hot(labels: np.ndarray, n_classes: int, dtype: np.dtype) -> np.ndarray:
    """Rows e_y of the identity: shape (m, n_classes)."""
    targets = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    targets[np.arange(labels.shape[0]), labels] = 1
    return targets


def as_targets(name: str, value: object, n_out: int, dtype: np.dtype,
               classes: np.ndarray | None = None) -> np.ndarray:
    """Targets as a float matrix (m, n_out): a 1-D array holds class labels (indices, or members of
    ``classes`` when given) and is one-hot encoded."""
    array = np.asarray(value)
    if array.ndim == 1:
        return one_hot(as_labels(name, array, n_out, classes=classes), n_out, dtype)
    return as_float_matrix(name, array, n_out, dtype)


def as_parameter(name: str, value: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A parameter array of exactly ``shape``, finite, in ``dtype`` (C-contiguous and writeable)."""
    array = np.asarray(value)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = np.require(array.astype(dtype, copy=False), requirements=["C", "W", "A"])
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def as_sample_weight(name: str, value: object, rows: int, dtype: np.dtype) -> np.ndarray:
    """Per-row weights: a finite 1-D array of ``rows`` numbers >= 0, not all 0, in ``dtype``."""
    array = _real_array(name, value)
    if array.shape != (rows,):
        raise ValueError(f"{name} must have shape ({rows},), one weight per row, got {array.shape}")
    array = array.astype(dtype, copy=False)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold finite numbers >= 0")
    if not np.any(array > 0):
        raise ValueError(f"{name} is all zero: at least one row must have a positive weight")
    return array


def check_same_rows(x_name: str, x: np.ndarray, y_name: str, y: np.ndarray) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of rows, "
            f"got {x.shape[0]} and {y.shape[0]}"
        )


def check_allocation(what: str, nbytes: int, advice: str) -> None:
    """Refuse, before allocating, what needs more memory than is available (``limits.check_memory``).

    Raises:
        ValueError: naming ``what``, the bytes it needs, the bytes available and ``advice``.
    """
    try:
        check_memory(what, nbytes)
    except ValueError as error:
        raise ValueError(f"{error}; {advice}") from None
