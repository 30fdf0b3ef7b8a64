"""Every limit on what deltaprop reads from a file, in one place, and the checks that enforce them.

A file's headers say how much it holds (an IDX or ``.npy`` shape, a PNG's width and height, a
model's layer sizes); before anything is allocated, the readers compute from them what loading needs
and refuse what exceeds a limit below or the memory available (``available_memory``), with one line
naming the figure and the limit. ``docs/limits.md`` lists them all. Error messages are at most
``MAX_MESSAGE_CHARS`` long: long values and lists are shortened (``shorten``, ``short_list``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

# -- model and checkpoint files -------------------------------------------------------------------

MAX_FILE_BYTES = 4 * 1024**3
"""Model files this large or larger are refused before anything is read."""

MAX_HEADER_BYTES = 100_000_000
"""A safetensors header (JSON) larger than this is refused (the reference implementation's limit)."""

MAX_METADATA_BYTES = 64 * 1024**2
"""The deltaprop metadata (one JSON text inside the header): longer texts are refused, and not saved."""

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects in a header or the metadata (deltaprop writes at most 7)."""

MAX_JSON_VALUES = 4_000_000
"""Most JSON values (numbers, strings, arrays, objects, keys) a header or the metadata may hold."""

MAX_LAYERS = 1_000
"""Most layers (weight matrices) a model file may describe; ``sizes`` lists at most one more."""

MAX_GRADCHECK_ROWS = 10_000
"""Most rows ``gradcheck`` (and ``deltaprop gradcheck --rows``) evaluates the cost on: every finite
difference is two passes over all of them."""

MAX_GRADCHECK_EPS = 0.1
"""Largest finite-difference step ``gradcheck`` takes (``--eps``): beyond it central differences
measure the curvature, not the gradient (and 1e308 overflows)."""

MAX_GRADCHECK_WORK = 10**11
"""Most multiply-adds ``gradcheck``'s finite differences may take (2 x parameters checked x rows x
parameters): beyond it, check a sample (``--max-params``) or fewer rows."""

MAX_EXPLAIN_WORK = 2 * 10**9
"""Most work ``explain``'s finite differences may take: 2 x parameters checked x the cost of one
evaluation, counted as its parameters plus ``EXPLAIN_LAYER_WORK`` per layer (about nanoseconds).
Deep or wide networks get a smaller seeded sample of checks, so that time stays linear in their size."""

EXPLAIN_LAYER_WORK = 10_000
"""The fixed cost of evaluating one layer, in the units of ``MAX_EXPLAIN_WORK`` (parameters)."""

MAX_SLOTS = 8
"""Most optimizer slots (per-parameter state arrays such as momentum velocities) in a file."""

MAX_TENSORS = 2 * MAX_LAYERS * (1 + MAX_SLOTS)
"""Most tensors a model file may hold: a weight and a bias per layer, for parameters and each slot."""

# -- data files -----------------------------------------------------------------------------------

MAX_DATA_BYTES = 2**31
"""Largest array, in bytes as stored, that a data file (IDX, ``.npy`` in an ``.npz``) may declare."""

MAX_DECODED_BYTES = 4 * 1024**3
"""Largest array a reader makes from a file, once converted (e.g. uint8 pixels to float64)."""

MAX_CSV_BYTES = 1024**3
"""Largest ``.csv`` file read (a table of features, or rows to predict from)."""

MAX_PARQUET_BYTES = 1024**3
"""Largest ``.parquet`` file read; what its chosen columns decode to is checked against
``MAX_DECODED_BYTES`` from its footer, before any column is read."""

MAX_PARQUET_FOOTER_BYTES = 16 * 1024**2
"""Largest Parquet footer (the metadata describing its columns and row groups) that is parsed."""

MAX_TABLE_COLUMNS = 100_000
"""Most columns a table file (``.csv``, ``.parquet``) may have: their names are stored with the model."""

MAX_COLUMN_NAME_CHARS = 256
"""Longest name of a column chosen from a table (a feature or the label column): models store them."""

MAX_IMAGE_PIXELS = 4096 * 4096
"""Most pixels (width x height) of a PNG image to predict from; larger images are not decoded."""

MAX_FEATURE_MAGNITUDE = 1e100
"""Largest magnitude of a feature read from a data file (``.npz``, ``.csv``, ``.npy`` rows): sums of
products and squares of values beyond it overflow float64, so they are refused, with advice to scale."""

MAX_IMAGE_ASPECT = 100
"""Longest side of a PNG or JPEG image over its shortest: a 1 x 4,000,000 strip is no picture of a
digit, and is refused from its header before it is decoded."""

MAX_PREDICT_FILES = 10_000
"""Most files one ``deltaprop predict`` reads: the files named, the files globs match and the images
in folders, together; a folder holding more images is refused before any is read."""

MAX_CLASSES = 10_000
"""The most classes a label array may imply: labels far beyond it are refused, never turned into a giant
output layer."""

CLASS_SLACK = 10
"""Labels read from a file may imply at most 2 x (distinct labels) + CLASS_SLACK classes (and at most
``MAX_CLASSES``): n_classes is max label + 1, so one stray label such as 9999
among the digits 0-9 is refused rather than turned into a 10,000-unit output layer."""


def max_classes_for(distinct: int) -> int:
    """The most classes labels taking ``distinct`` different values may imply."""
    return 2 * distinct + CLASS_SLACK

# -- run folders and the report --------------------------------------------------------------------

MAX_HISTORY_BYTES = 32 * 1024**2
"""Largest ``history.json`` of a run folder that ``deltaprop report`` reads."""

MAX_CONFIG_BYTES = 1024**2
"""Largest ``config.json`` of a run folder that ``deltaprop report`` reads."""

MAX_HISTORY_RECORDS = 100_000
"""Most epoch records a run's ``history.json`` may hold."""

MAX_SNAPSHOT_EPOCHS = 64
"""Most recorded epochs a run's ``snapshots.npz`` may hold (a run of 2**62 epochs records 64)."""

MAX_SNAPSHOT_BINS = 64
"""Most histogram bars per snapshot (deltaprop records 40)."""

MAX_SNAPSHOT_MEMBER_BYTES = 64 * 1024**2
"""Largest array of a ``snapshots.npz``, as its ``.npy`` header declares it (read before the data)."""

MAX_CHART_POINTS = 400
"""Most points of one series the report draws: longer histories are thinned evenly (the last kept)."""

MAX_REPORT_LAYERS = 8
"""Most layers the report draws histograms and per-layer curves of: the first ones and the output."""

MAX_REPORT_SNAPSHOTS = 16
"""Most recorded epochs the report shows on its slider: more are thinned evenly (first and last kept)."""

MAX_REPORT_IMAGE_PIXELS = 100 * 28 * 28
"""Most pixels of one picture in the report: the first-layer weights of an epoch (fewer units are
shown of larger images, none beyond), an example (not drawn beyond)."""

MAX_REPORT_EXPLAIN_LAYERS = 50
"""Deepest network whose one-example trace the report shows (a row per layer; 'deltaprop explain'
prints deeper ones)."""

MAX_REPORT_CLASSES = 50
"""Most classes the report draws a confusion matrix and per-class figures of."""

MAX_REPORT_BYTES = 15 * 1000**2
"""Largest report page: the bounds above keep it well below (the largest measured is in
``docs/limits.md``); a page beyond is refused rather than written."""


def thin(count: int, most: int) -> list[int]:
    """At most ``most`` indices of ``range(count)``, evenly spread, the first and the last kept."""
    if count <= most:
        return list(range(count))
    if most <= 1:
        return [count - 1]
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


MAX_MESSAGE_CHARS = 300
"""Longest error message: values and lists quoted in messages are shortened to keep within it."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, ending in '...' where it was cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shorten_middle(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters in its middle (where long lists and paths are), so that
    its start and its end (what to do) stay."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` shortened to ``limit`` characters (large containers are not fully rendered)."""
    if isinstance(value, list | tuple | dict) and len(value) > 10:
        kind = type(value).__name__
        return f"<{kind} of {len(value):,} items>"
    return shorten(repr(value), limit)


def short_list(items: Iterable[Any], shown: int = 5) -> str:
    """'a', 'b', 'c' and 12 more: the first ``shown`` items' reprs, then how many were left out."""
    items = list(items)
    text = ", ".join(shorten(repr(item), 40) for item in items[:shown])
    return text + (f" and {len(items) - shown:,} more" if len(items) > shown else "")


def format_bytes(count: float) -> str:
    """A byte count for people: 1.5 GB, 300 MB, 12 kB."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{int(count)} bytes"


# -- memory ---------------------------------------------------------------------------------------


def _proc_kib(path: str, key: str) -> int | None:
    """The value in bytes of a ``key: N kB`` line of a /proc file, or None."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int | None:
    """Bytes a new allocation can get: MemAvailable of /proc/meminfo, or less where an address-space
    limit (``ulimit -v``, RLIMIT_AS) leaves less room; None where the system says neither."""
    figures = [_proc_kib("/proc/meminfo", "MemAvailable:")]
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Unix
        soft = -1
    if soft != -1 and soft != getattr(resource, "RLIM_INFINITY", -1):
        used = _proc_kib("/proc/self/status", "VmSize:")
        if used is not None:
            figures.append(max(soft - used, 0))
    known = [figure for figure in figures if figure is not None]
    return min(known) if known else None


def check_memory(what: str, nbytes: int, limit: int | None = None,
                 error: type[Exception] = ValueError) -> None:
    """Refuse, before allocating, what needs more than ``limit`` bytes or the memory available.

    Raises:
        error: one line naming ``what``, the bytes it needs, and the limit or the memory available.
    """
    if limit is not None and nbytes > limit:
        raise error(shorten(
            f"{what} would need {format_bytes(nbytes)}, more than the limit of {format_bytes(limit)}"))
    available = available_memory()
    if available is not None and nbytes > available:
        raise error(shorten(
            f"{what} would need {format_bytes(nbytes)} of memory, more than the "
            f"{format_bytes(available)} available"))


# -- JSON -----------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"number {shorten(text, 40)} is too large for a float")
    return value


def json_shape(text: bytes) -> tuple[int, int]:
    """(nesting depth, an upper bound of the number of values) of a JSON text, counted without
    parsing it: brackets and separators outside strings. The depth is counted only when the values
    are within ``MAX_JSON_VALUES`` (it is reported as 0 otherwise), so the count stays cheap."""
    bare = _STRING.sub(b'""', text)
    values = 1 + sum(bare.count(mark) for mark in (b"[", b"{", b",", b":"))
    if values > MAX_JSON_VALUES:
        return 0, values
    brackets = np.frombuffer(bare.translate(None, _NOT_BRACKETS), dtype=np.uint8)
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0)), values


def parse_json(text: str | bytes, what: str, max_bytes: int = MAX_HEADER_BYTES) -> Any:
    """A JSON text, parsed only once its size, depth and value count are within the limits.

    Raises:
        ValueError: naming ``what`` and the limit exceeded, or saying why the text is not JSON
            (NaN and Infinity are not JSON).
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if len(data) > max_bytes:
        raise ValueError(f"{what} is {len(data):,} bytes long, more than the limit of {max_bytes:,}")
    depth, values = json_shape(data)
    if values > MAX_JSON_VALUES:
        raise ValueError(f"{what} holds about {values:,} values, more than the limit of {MAX_JSON_VALUES:,}")
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{what} is nested {depth} deep, more than the limit of {MAX_JSON_DEPTH}")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float)
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except RecursionError:  # pragma: no cover - the depth is checked first
        raise ValueError(f"{what} is nested too deeply") from None
    except ValueError as error:
        raise ValueError(f"{what} is not valid JSON ({shorten(str(error), 120)})") from None
