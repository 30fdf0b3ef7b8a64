"""The model file format: tensor names, metadata keys, and the checks of a file's header.

A model file is a safetensors file whose header's ``__metadata__`` holds one key, ``"deltaprop"``,
whose value is a JSON object (see ``deltaprop.io``). This module knows what a valid header is:
``metadata_from_header`` and ``check_header_tensors`` raise ``ModelFormatError`` naming the file and
the problem, before any tensor is decoded.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from deltaprop._version import __version__
from deltaprop.activations import ACTIVATIONS
from deltaprop.costs import COSTS
from deltaprop.errors import ModelFormatError

FORMAT_VERSION = 1
"""The model file format this version of deltaprop writes, and the newest it reads."""

METADATA_KEY = "deltaprop"
"""The key of the safetensors ``__metadata__`` entry that holds deltaprop's JSON metadata."""

MAX_FILE_BYTES = 4 * 1024**3
"""Files this large or larger are refused before anything is read into memory."""

MAX_HEADER_BYTES = 100_000_000
"""The safetensors header limit (the reference implementation refuses larger headers too)."""

REQUIRED_KEYS: dict[str, type] = {
    "format_version": int,
    "sizes": list,
    "activations": list,
    "cost": str,
    "dtype": str,
    "training": dict,
    "deltaprop_version": str,
}
_JSON_KINDS = {int: "integer", list: "array", str: "string", dict: "object"}
DTYPES = {"float32": "F32", "float64": "F64"}  # numpy name -> safetensors dtype code

SLOT_NAME_LENGTH = 64


# -- names ----------------------------------------------------------------------------------------


def weight_name(i: int) -> str:
    """The tensor name of layer i's weights (0-based), as in a PyTorch ``layers`` ModuleList."""
    return f"layers.{i}.weight"


def bias_name(i: int) -> str:
    """The tensor name of layer i's biases (0-based), as in a PyTorch ``layers`` ModuleList."""
    return f"layers.{i}.bias"


def expected_shapes(sizes: list[int], slots: list[str] = ()) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        shapes[weight_name(i)] = (n_out, n_in)
        shapes[bias_name(i)] = (n_out,)
    for slot in slots:
        shapes.update({f"{slot}.{name}": shape for name, shape in list(shapes.items())
                       if name.startswith("layers.")})
    return shapes


def format_error(path: str, message: str) -> ModelFormatError:
    return ModelFormatError(f"{path}: {message}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_json(text: str | bytes) -> Any:
    """JSON, with NaN/Infinity and pathological nesting turned into ValueError."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_header(path: str, prefix: bytes, file_size: int) -> dict[str, Any]:
    """The safetensors header (a JSON object) from the first bytes of a file of ``file_size``."""
    if file_size < 8:
        what = "empty" if file_size == 0 else f"only {file_size} bytes long"
        raise format_error(path, f"not a safetensors model file: the file is {what}")
    (header_size,) = struct.unpack("<Q", prefix[:8])
    if header_size > file_size - 8:
        raise format_error(
            path,
            f"truncated or not a safetensors file: the header claims {header_size} bytes but the "
            f"file has only {file_size - 8} after the 8-byte length",
        )
    if header_size > MAX_HEADER_BYTES:
        raise format_error(path, f"not a model file: its header claims {header_size} bytes")
    if len(prefix) < 8 + header_size:
        raise format_error(path, "truncated: the file ended inside its header")
    try:
        header = _parse_json(prefix[8 : 8 + header_size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise format_error(
            path, f"corrupt or not a safetensors file: its header is not JSON ({error})"
        ) from None
    if not isinstance(header, dict):
        raise format_error(path, "corrupt safetensors header: expected a JSON object")
    return header


def _check_types(path: str, meta: dict[str, Any]) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise format_error(path, f"the deltaprop metadata lacks the required keys {missing}")
    for key, kind in REQUIRED_KEYS.items():
        value = meta[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise format_error(
                path,
                f"the deltaprop metadata's {key!r} must be a JSON {_JSON_KINDS[kind]}, "
                f"got {value!r}",
            )


def _validate_metadata(path: str, meta: Any) -> dict[str, Any]:
    """Check the parsed deltaprop metadata object; return it."""
    if not isinstance(meta, dict):
        raise format_error(path, f"the {METADATA_KEY!r} metadata must be a JSON object")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise format_error(
            path, f"the deltaprop metadata has no integer 'format_version' (got {version!r})"
        )
    if version > FORMAT_VERSION:
        raise format_error(
            path,
            f"the file was written by a newer deltaprop (model format version {version}; this is "
            f"deltaprop {__version__}, which reads versions up to {FORMAT_VERSION}); "
            f"upgrade deltaprop to load it",
        )
    if version < 1:
        raise format_error(path, f"invalid model format version {version}")
    _check_types(path, meta)

    sizes = meta["sizes"]
    if len(sizes) < 2 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
        raise format_error(path, f"'sizes' must list at least two positive integers, got {sizes!r}")
    activations = meta["activations"]
    if len(activations) != len(sizes) - 1 or not all(isinstance(a, str) for a in activations):
        raise format_error(
            path,
            f"'activations' must list {len(sizes) - 1} names (one per layer after the input), "
            f"got {activations!r}",
        )
    for name in activations:
        if name not in ACTIVATIONS:
            raise format_error(
                path,
                f"unknown activation {name!r}; known activations are {sorted(ACTIVATIONS)}. If it "
                f"is a custom activation, call register_activation for it before loading",
            )
    if meta["cost"] not in COSTS:
        raise format_error(
            path,
            f"unknown cost {meta['cost']!r}; known costs are {sorted(COSTS)}. If it is a custom "
            f"cost, call register_cost for it before loading",
        )
    if meta["dtype"] not in DTYPES:
        raise format_error(path, f"'dtype' must be one of {list(DTYPES)}, got {meta['dtype']!r}")
    if meta.get("velocities") is True and "slots" not in meta:  # checkpoints of deltaprop 0.1.0
        meta["slots"] = ["velocity"]
    meta.pop("velocities", None)
    slots = meta.setdefault("slots", [])
    if not isinstance(slots, list) or not all(
        isinstance(slot, str) and slot.isidentifier() and len(slot) <= SLOT_NAME_LENGTH
        for slot in slots
    ) or len(set(slots)) != len(slots) or len(slots) > 8:
        raise format_error(path, f"'slots' must list at most 8 distinct identifiers, got {slots!r}"[:300])
    return meta


def metadata_from_header(path: str, header: dict[str, Any]) -> dict[str, Any]:
    raw = header.get("__metadata__")
    if raw is None:
        raise format_error(path, "not a deltaprop model: the safetensors file has no metadata")
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise format_error(path, "corrupt safetensors header: '__metadata__' must map strings to strings")
    if METADATA_KEY not in raw:
        raise format_error(
            path, f"not a deltaprop model: the safetensors metadata has no {METADATA_KEY!r} entry"
        )
    try:
        meta = _parse_json(raw[METADATA_KEY])
    except ValueError as error:
        raise format_error(path, f"the {METADATA_KEY!r} metadata is not valid JSON ({error})") from None
    return _validate_metadata(path, meta)


def _describe_names(names: set[str]) -> str:
    return ", ".join(repr(n) for n in sorted(names))


def check_tensor_names(path: str, found: set[str], expected: set[str], sizes: list[int]) -> None:
    if found == expected:
        return
    problems = []
    if expected - found:
        problems.append(f"missing tensors {_describe_names(expected - found)}")
    if found - expected:
        problems.append(f"unexpected tensors {_describe_names(found - expected)}")
    raise format_error(path, f"{' and '.join(problems)} for a network with sizes {sizes}")


def check_header_tensors(path: str, header: dict[str, Any], meta: dict[str, Any]) -> None:
    """Check the tensor entries of the header against the metadata before decoding any data."""
    sizes = meta["sizes"]
    expected = expected_shapes(sizes, meta["slots"])
    entries = {name: entry for name, entry in header.items() if name != "__metadata__"}
    check_tensor_names(path, set(entries), set(expected), sizes)
    code = DTYPES[meta["dtype"]]
    for name, shape in expected.items():
        entry = entries[name]
        if not isinstance(entry, dict):
            raise format_error(path, f"corrupt safetensors header: entry {name!r} is not an object")
        if entry.get("dtype") != code:
            raise format_error(
                path,
                f"tensor {name!r} has dtype {entry.get('dtype')!r}, but the metadata says "
                f"{meta['dtype']!r} (safetensors {code!r})",
            )
        if entry.get("shape") != list(shape):
            raise format_error(
                path,
                f"tensor {name!r} has shape {entry.get('shape')!r}, but sizes {sizes} say "
                f"{list(shape)}",
            )
