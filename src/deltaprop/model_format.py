"""The model file format: tensor names, metadata keys, and the checks of a file's header.

A model file is a safetensors file whose header's ``__metadata__`` holds one key, ``"deltaprop"``,
whose value is a JSON object (see ``deltaprop.io``) following the schema of ``deltaprop.schema``.
This module knows what a valid header is: ``parse_header``, ``metadata_from_header`` and
``check_header_tensors`` raise ``ModelFormatError`` naming the file and the problem in one line,
before any tensor is decoded or any memory for one allocated. The limits they apply are those of
``deltaprop.limits``.
"""

from __future__ import annotations

import math
import struct
from typing import Annotated, Any

from pydantic import Field, ValidationError

from deltaprop._version import __version__
from deltaprop.errors import ModelFormatError
from deltaprop.limits import (
    MAX_FILE_BYTES,
    MAX_HEADER_BYTES,
    MAX_METADATA_BYTES,
    MAX_TENSORS,
    parse_json,
    short_list,
    short_repr,
    shorten,
)
from deltaprop.schema import (
    FORMAT_VERSION,
    SLOT_NAME_LENGTH,
    Count,
    Strict,
    validate_model_metadata,
    validation_message,
)

__all__ = ["DTYPES", "FORMAT_VERSION", "MAX_FILE_BYTES", "MAX_HEADER_BYTES", "METADATA_KEY",
           "SLOT_NAME_LENGTH", "check_header_tensors", "metadata_from_header", "parse_header"]

METADATA_KEY = "deltaprop"
"""The key of the safetensors ``__metadata__`` entry that holds deltaprop's JSON metadata."""

DTYPES = {"float32": "F32", "float64": "F64"}  # numpy name -> safetensors dtype code
ITEMSIZE = {"F32": 4, "F64": 8}


class TensorEntry(Strict):
    """A tensor's entry in a safetensors header: dtype code, shape, [begin, end) in the data."""

    dtype: str
    shape: list[Count]
    data_offsets: Annotated[list[Count], Field(min_length=2, max_length=2)]


# -- names ----------------------------------------------------------------------------------------


def weight_name(i: int) -> str:
    """The tensor name of layer i's weights (0-based), as in a PyTorch ``layers`` ModuleList."""
    return f"layers.{i}.weight"


def bias_name(i: int) -> str:
    """The tensor name of layer i's biases (0-based), as in a PyTorch ``layers`` ModuleList."""
    return f"layers.{i}.bias"


SCALING_CENTER, SCALING_SCALE = "scaling.center", "scaling.scale"
"""The tensor names of an input scaling's center and scale, each (sizes[0],)."""


def expected_shapes(sizes: list[int], slots: list[str] = (),
                    scaling: bool = False) -> dict[str, tuple[int, ...]]:
    """Every tensor name of a network with ``sizes`` (optimizer ``slots``, an input ``scaling``)
    -> its shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        shapes[weight_name(i)] = (n_out, n_in)
        shapes[bias_name(i)] = (n_out,)
    for slot in slots:
        shapes.update({f"{slot}.{name}": shape for name, shape in list(shapes.items())
                       if name.startswith("layers.")})
    if scaling:
        shapes[SCALING_CENTER] = shapes[SCALING_SCALE] = (sizes[0],)
    return shapes


def format_error(path: str, message: str) -> ModelFormatError:
    """A ModelFormatError naming ``path``, in one line of at most 300 characters."""
    return ModelFormatError(shorten(" ".join(f"{path}: {message}".split())))


# -- the header -----------------------------------------------------------------------------------


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
        raise format_error(path, f"not a model file: its header claims {header_size:,} bytes, more "
                                 f"than the limit of {MAX_HEADER_BYTES:,}")
    if len(prefix) < 8 + header_size:
        raise format_error(path, "truncated: the file ended inside its header")
    try:
        header = parse_json(prefix[8 : 8 + header_size], "its header", MAX_HEADER_BYTES)
    except ValueError as error:
        raise format_error(path, f"corrupt or not a safetensors file: {error}") from None
    if not isinstance(header, dict):
        raise format_error(path, "corrupt safetensors header: expected a JSON object")
    return header


def _check_version(path: str, meta: dict[str, Any]) -> None:
    """A newer format is named as such (its other fields may differ), before the schema is applied."""
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise format_error(
            path,
            f"the file was written by a newer deltaprop (model format version {short_repr(version)}; "
            f"this is deltaprop {__version__}, which reads versions up to {FORMAT_VERSION}); "
            f"upgrade deltaprop to load it",
        )


def check_metadata(path: str, meta: Any) -> dict[str, Any]:
    """The parsed deltaprop metadata object checked against ``deltaprop.schema.ModelMetadata``."""
    if not isinstance(meta, dict):
        raise format_error(path, f"the {METADATA_KEY!r} metadata must be a JSON object")
    _check_version(path, meta)
    if meta.get("velocities") is True and "slots" not in meta:  # checkpoints of deltaprop 0.1.0
        meta["slots"] = ["velocity"]
    meta.pop("velocities", None)
    meta.setdefault("slots", [])
    try:
        validate_model_metadata(meta)
    except ValueError as error:
        raise format_error(path, str(error)) from None
    return meta


def metadata_from_header(path: str, header: dict[str, Any]) -> dict[str, Any]:
    """The deltaprop metadata of a parsed header, parsed within the limits and checked."""
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
        meta = parse_json(raw[METADATA_KEY], f"the {METADATA_KEY!r} metadata", MAX_METADATA_BYTES)
    except ValueError as error:
        raise format_error(path, str(error)) from None
    return check_metadata(path, meta)


# -- the tensors ----------------------------------------------------------------------------------


def check_tensor_names(path: str, found: set[str], expected: set[str], sizes: list[int]) -> None:
    """The tensors of the file are exactly those the metadata implies (lists shortened)."""
    if found == expected:
        return
    problems = []
    if expected - found:
        problems.append(f"missing tensors {short_list(sorted(expected - found))}")
    if found - expected:
        problems.append(f"unexpected tensors {short_list(sorted(found - expected))}")
    raise format_error(path, f"{' and '.join(problems)} for a network with sizes {short_repr(sizes)}")


def _entry(path: str, name: str, entry: Any) -> TensorEntry:
    if not isinstance(entry, dict):
        raise format_error(path, f"corrupt safetensors header: entry {name!r} is not an object")
    try:
        return TensorEntry.model_validate(entry)
    except ValidationError as error:
        raise format_error(path, validation_message(error, f"tensor entry {name!r}")) from None


def _check_entry(path: str, name: str, entry: TensorEntry, shape: tuple[int, ...],
                 meta: dict[str, Any]) -> None:
    code = DTYPES[meta["dtype"]]
    if entry.dtype != code:
        raise format_error(path, f"tensor {name!r} has dtype {short_repr(entry.dtype)}, but the "
                                 f"metadata says {meta['dtype']!r} (safetensors {code!r})")
    if entry.shape != list(shape):
        raise format_error(path, f"tensor {name!r} has shape {short_repr(entry.shape)}, but sizes "
                                 f"{short_repr(meta['sizes'])} say {list(shape)}")


def check_header_tensors(path: str, header: dict[str, Any], meta: dict[str, Any],
                         data_size: int) -> dict[str, tuple[int, int]]:
    """Check the tensor entries of the header against the metadata and the ``data_size`` bytes that
    follow the header, before decoding any data; return each tensor's [begin, end) in the data.

    The tensors must be exactly those ``meta`` implies, with its dtype and shapes, stored one after
    the other without gaps or overlaps, filling the data (as the safetensors reference requires).
    """
    entries = {name: entry for name, entry in header.items() if name != "__metadata__"}
    if len(entries) > MAX_TENSORS:
        raise format_error(path, f"the header lists {len(entries):,} tensors, more than the limit "
                                 f"of {MAX_TENSORS:,}")
    sizes = meta["sizes"]
    expected = expected_shapes(sizes, meta["slots"], meta.get("scaling") is not None)
    check_tensor_names(path, set(entries), set(expected), sizes)
    spans = {}
    for name, shape in expected.items():
        entry = _entry(path, name, entries[name])
        _check_entry(path, name, entry, shape, meta)
        spans[name] = (entry.data_offsets[0], entry.data_offsets[1])
    itemsize, position = ITEMSIZE[DTYPES[meta["dtype"]]], 0
    for name, (begin, end) in sorted(spans.items(), key=lambda item: item[1]):
        if begin != position or end - begin != itemsize * math.prod(expected[name]):
            raise format_error(path, f"corrupt safetensors header: tensor {name!r} lies at bytes "
                                     f"[{begin}, {end}) of the data, expected to start at {position} "
                                     f"and hold {itemsize * math.prod(expected[name]):,} bytes")
        position = end
    if position != data_size:
        raise format_error(path, f"the tensors of sizes {short_repr(sizes)} take {position:,} bytes, but "
                                 f"the file holds {data_size:,} after its header")
    return spans
