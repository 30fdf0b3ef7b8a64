"""Model files: a network's parameters in safetensors, its description in the header metadata.

A model file is a `safetensors <https://github.com/huggingface/safetensors>`_ file. Layer i
(0-based) stores its weights as ``layers.{i}.weight``, shape (n_out, n_in), and its biases as
``layers.{i}.bias``, shape (n_out,), in the network's dtype: the names PyTorch gives the parameters
of a module whose attribute ``layers`` is a ``ModuleList`` (or ``Sequential``) of ``nn.Linear``, so

    module.load_state_dict(safetensors.torch.load_file(path))

works directly. The header's ``__metadata__`` holds one key, ``"deltaprop"``, whose value is a JSON
object::

    {"format_version": 1, "sizes": [784, 30, 10], "activations": ["sigmoid", "sigmoid"],
     "cost": "cross_entropy", "dtype": "float64", "training": {...}, "deltaprop_version": "0.1.0"}

plus any ``extra_metadata`` given to ``save``. Checkpoints also store an optimizer's per-parameter
state: for each slot named in the metadata's ``"slots"`` (e.g. ``"velocity"``), tensors
``{slot}.layers.{i}.weight`` and ``.bias`` shaped like the parameters.

Loading never executes code: the header is parsed as JSON within the limits of ``deltaprop.limits``,
the metadata checked against the schema of ``deltaprop.schema``, everything in the file against
everything else, and the memory loading needs against the memory available, before each tensor is
read into an array of its own (no native parser sees the file). A file that is truncated, corrupt,
of a newer format, beyond a limit, or whose metadata disagrees with its tensors raises
``ModelFormatError`` naming the path and the problem in one line.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import safetensors.numpy

from deltaprop._files import atomic_write
from deltaprop._validation import all_finite
from deltaprop._version import __version__
from deltaprop.errors import ModelFormatError
from deltaprop.limits import MAX_METADATA_BYTES, check_memory, format_bytes, parse_json
from deltaprop.model_format import (
    DTYPES,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    MAX_HEADER_BYTES,
    METADATA_KEY,
    SCALING_CENTER,
    SCALING_SCALE,
    SLOT_NAME_LENGTH,
    bias_name,
    check_header_tensors,
    expected_shapes,
    format_error,
    metadata_from_header,
    parse_header,
    weight_name,
)
from deltaprop.network import Network
from deltaprop.scaling import scaling_from_arrays
from deltaprop.schema import SCALING_VERSION, validate_model_metadata

__all__ = ["FORMAT_VERSION", "METADATA_KEY", "load", "load_with_metadata", "read_metadata", "save"]

PathLike = str | os.PathLike[str]
Slots = Mapping[str, list[np.ndarray]]
"""Optimizer state: slot name -> one array per parameter, ordered weights then biases."""



# -- saving ---------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    """Lets numpy scalars and arrays in the training config be written as plain JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _metadata_of(net: Network, extra_metadata: Mapping[str, Any] | None, slots: list[str],
                 training: Mapping[str, Any] | None) -> str:
    if training is None:
        training = getattr(net, "training_config", None) or {}
    meta: dict[str, Any] = {
        "format_version": 1 if net.scaling is None else SCALING_VERSION,
        "sizes": [int(n) for n in net.sizes],
        "activations": list(net.activation_names),
        "cost": net.cost_function.name,
        "dtype": np.dtype(net.dtype).name,
        "training": dict(training),
        "deltaprop_version": __version__,
        "slots": slots,
    }
    if getattr(net, "classes", None) is not None:
        meta["classes"] = net.classes.tolist()
    if net.scaling is not None:
        meta["scaling"] = net.scaling.name
    if extra_metadata is not None:
        if not isinstance(extra_metadata, Mapping):
            raise TypeError(f"extra_metadata must be a dict, got {type(extra_metadata).__name__}")
        for key in extra_metadata:
            if not isinstance(key, str):
                raise TypeError(f"extra_metadata keys must be strings, got {key!r}")
            if key in meta:
                raise ValueError(
                    f"extra_metadata may not use the reserved key {key!r}; "
                    f"reserved keys are {sorted(meta)}"
                )
        meta.update(extra_metadata)
    try:
        text = json.dumps(meta, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(
            f"the model metadata (training config and extra_metadata) must be JSON-serializable "
            f"with finite numbers: {str(error)[:200]}"
        ) from None
    # what is written must be readable: the same limits and schema as load
    validate_model_metadata(parse_json(text, "the model metadata", MAX_METADATA_BYTES),
                            "the model metadata")
    return text


def _tensors_of(net: Network) -> dict[str, np.ndarray]:
    """The parameters (and the input scaling's center and scale) as contiguous little-endian arrays
    of the network's dtype, checked finite."""
    dtype = np.dtype(net.dtype)
    if dtype.name not in DTYPES:
        raise ValueError(f"cannot save a network of dtype {dtype}; expected one of {list(DTYPES)}")
    shapes = expected_shapes(list(net.sizes))
    if len(net.weights) != len(net.sizes) - 1 or len(net.biases) != len(net.sizes) - 1:
        raise ValueError(
            f"network with sizes {list(net.sizes)} must have {len(net.sizes) - 1} weight and bias "
            f"arrays, has {len(net.weights)} and {len(net.biases)}"
        )
    tensors: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        for label, name, value in (("weights", weight_name(i), w), ("biases", bias_name(i), b)):
            array = np.ascontiguousarray(value, dtype=dtype.newbyteorder("<"))
            if array.shape != shapes[name]:
                raise ValueError(
                    f"layer {i + 1} ({label}[{i}]) has shape {array.shape}, but the network's "
                    f"sizes {list(net.sizes)} say {shapes[name]}"
                )
            if not np.all(np.isfinite(array)):
                raise ValueError(
                    f"layer {i + 1} ({label}[{i}]) contains NaN or infinite values; refusing to "
                    f"save a network whose parameters are not finite (did training diverge?)"
                )
            tensors[name] = array
    if net.scaling is not None:
        tensors[SCALING_CENTER], tensors[SCALING_SCALE] = (
            np.ascontiguousarray(value, dtype=dtype.newbyteorder("<"))
            for value in (net.scaling.center, net.scaling.scale))
    return tensors


def _slot_tensors(net: Network, slots: Slots) -> dict[str, np.ndarray]:
    """Optimizer state arrays (one per weight and bias array) as tensors named like the parameters."""
    tensors: dict[str, np.ndarray] = {}
    n = net.num_layers
    for slot, arrays in slots.items():
        if not (isinstance(slot, str) and slot.isidentifier() and len(slot) <= SLOT_NAME_LENGTH):
            raise ValueError(f"optimizer slot names must be identifiers, got {slot!r}")
        if len(arrays) != 2 * n:
            raise ValueError(f"slot {slot!r} must hold {2 * n} arrays (weights, then biases)")
        shadow = Network.from_parameters(arrays[:n], arrays[n:], net.activations,
                                         cost=net.cost_function, dtype=net.dtype)  # checks them
        tensors.update({f"{slot}.{name}": array for name, array in _tensors_of(shadow).items()})
    return tensors


def save(
    net: Network,
    path: PathLike,
    extra_metadata: dict[str, Any] | None = None,
    slots: Slots | None = None,
    training: Mapping[str, Any] | None = None,
) -> None:
    """Write ``net`` to a safetensors model file at ``path``, atomically.

    Args:
        net: the network. Its parameters must be finite.
        path: where to write (str or path-like); an existing file there is replaced.
        extra_metadata: more JSON-serializable entries for the metadata object (e.g. a dataset
            name or a test accuracy); they may not reuse the keys deltaprop writes.
        slots: optimizer state, slot name -> arrays shaped like the weights then the biases, stored
            as ``{slot}.layers.{i}.weight`` / ``.bias`` (checkpoints use this).
        training: the training configuration to store (default ``net.training_config``; a
            checkpoint, whose state holds the run's configuration, stores ``{}``).

    Tensors are named ``layers.{i}.weight`` (n_out, n_in) and ``layers.{i}.bias`` (n_out,), as in a
    PyTorch module with ``self.layers = nn.ModuleList([nn.Linear(n_in, n_out), ...])``.

    The file is written to a temporary file in the same directory, flushed to disk and renamed over
    ``path``, so that ``path`` never holds a half-written model, even if the process dies.

    Raises:
        ValueError: a parameter contains NaN or infinity (the message names the layer), the
            metadata cannot be written as JSON, or the file would break the schema or a limit that
            ``load`` applies (so nothing is written that ``load`` would refuse).
        TypeError: ``extra_metadata`` is not a dict with string keys.
        OSError: the file cannot be written; ``path`` is left as it was.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or os.PathLike[str], got {type(path).__name__}")
    tensors = _tensors_of(net)
    slots = dict(slots or {})
    tensors.update(_slot_tensors(net, slots))
    metadata = {METADATA_KEY: _metadata_of(net, extra_metadata, sorted(slots), training)}
    nbytes = sum(array.nbytes for array in tensors.values()) + len(metadata[METADATA_KEY])
    if nbytes >= MAX_FILE_BYTES:
        raise ValueError(f"the model file would be {format_bytes(nbytes)}, more than the limit of "
                         f"{format_bytes(MAX_FILE_BYTES)} that load accepts")
    try:
        data = safetensors.numpy.save(tensors, metadata=metadata)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - a Rust panic derives from BaseException
        raise ValueError(f"safetensors could not encode the model: {type(error).__name__}: "
                         f"{str(error)[:200]}") from None
    with atomic_write(path) as file:
        file.write(data)


# -- loading --------------------------------------------------------------------------------------


def _open_checked(path: PathLike) -> tuple[str, Any, int]:
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or os.PathLike[str], got {type(path).__name__}")
    file = open(path, "rb")  # noqa: SIM115 - closed by the callers
    try:
        size = os.fstat(file.fileno()).st_size
        if size >= MAX_FILE_BYTES:
            raise format_error(
                path, f"the file is {size:,} bytes, too large for a model file (limit "
                      f"{format_bytes(MAX_FILE_BYTES)})"
            )
    except BaseException:
        file.close()
        raise
    return path, file, size


def _read_header(path: str, file: Any, size: int) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(header, checked metadata, offset of the data) of an open model file of ``size`` bytes."""
    prefix = file.read(8)
    if size >= 8 and len(prefix) == 8:
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size <= min(size - 8, MAX_HEADER_BYTES):
            prefix += file.read(header_size)
    header = parse_header(path, prefix, size)
    meta = metadata_from_header(path, header)
    return header, meta, len(prefix)


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The deltaprop metadata of a model file, checked, without reading the tensors.

    Returns:
        the JSON object stored under ``"deltaprop"``: format_version, sizes, activations, cost,
        dtype, training, deltaprop_version, and any extra metadata given to ``save``.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ModelFormatError: the file is not a safetensors file, has no valid deltaprop metadata, is
            of a newer format, names an unknown activation or cost, exceeds a limit of
            ``deltaprop.limits``, or its tensor entries disagree with the metadata.
    """
    path, file, size = _open_checked(path)
    with file:
        header, meta, start = _read_header(path, file, size)
    check_header_tensors(path, header, meta, size - start)
    return meta


def load(path: PathLike) -> Network:
    """Read a network written by ``save``; see ``load_with_metadata`` for what is checked."""
    return load_with_metadata(path)[0]


def _read_tensors(path: str, file: Any, start: int, spans: dict[str, tuple[int, int]],
                  shapes: dict[str, tuple[int, ...]], dtype: np.dtype) -> dict[str, np.ndarray]:
    """Each tensor read from its bytes into an array of its own, checked finite."""
    stored = dtype.newbyteorder("<")
    arrays: dict[str, np.ndarray] = {}
    for name, (begin, end) in sorted(spans.items(), key=lambda item: item[1]):
        array = np.empty(shapes[name], dtype=stored)
        view = memoryview(array.reshape(-1).view(np.uint8))
        file.seek(start + begin)
        filled = 0
        while filled < end - begin:
            count = file.readinto(view[filled:])
            if not count:
                raise format_error(path, f"the file changed while being read: tensor {name!r} ends "
                                         f"{end - begin - filled} bytes early")
            filled += count
        if not all_finite(array.reshape(array.shape[0], -1)):
            raise format_error(path, f"tensor {name!r} contains NaN or infinite values")
        arrays[name] = array.astype(dtype, copy=False)
    return arrays


def load_with_metadata(path: PathLike) -> tuple[Network, dict[str, Any], dict[str, list[np.ndarray]]]:
    """Read a network written by ``save``; no code in the file is ever executed.

    Every part of the file is checked before the tensors are read: the safetensors structure, the
    metadata against ``deltaprop.schema.ModelMetadata`` (keys, types, ranges, format version), the
    tensor names, shapes, dtypes and places against the metadata, the limits of
    ``deltaprop.limits``, and the memory loading needs against the memory available. Then every
    parameter is read into an array of its own and checked finite. The file is parsed by deltaprop
    itself, never handed to a native parser.

    Returns:
        (net, metadata, slots): a new Network with the stored parameters (bitwise equal),
        activations, cost and dtype, and its ``training_config`` restored; the checked metadata
        object; the stored optimizer slots (slot -> arrays, weights then biases; empty for models).

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ModelFormatError: the file is truncated, corrupt, not a deltaprop model, of a newer format
            version (upgrade deltaprop), names an activation or cost not registered in this
            session, has missing or unexpected tensors, or tensors whose shape or dtype disagrees
            with the metadata, or NaN/infinite parameters, or needs more memory than a limit or
            than is available. The message names the path.
    """
    path, file, size = _open_checked(path)
    with file:
        header, meta, start = _read_header(path, file, size)
        spans = check_header_tensors(path, header, meta, size - start)
        sizes: list[int] = meta["sizes"]
        dtype = np.dtype(meta["dtype"])
        parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
        check_memory(f"{path}: loading its {parameters:,} parameters", size - start +
                     parameters * dtype.itemsize, error=ModelFormatError)  # + the network's own
        try:
            arrays = _read_tensors(path, file, start, spans, expected_shapes(
                sizes, meta["slots"], meta.get("scaling") is not None), dtype)
        except MemoryError:
            raise format_error(path, f"not enough memory to load its {parameters:,} parameters "
                                     f"({format_bytes(size - start)})") from None
    return _network_of(path, meta, arrays)


def _network_of(path: str, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                ) -> tuple[Network, dict[str, Any], dict[str, list[np.ndarray]]]:
    n_layers = len(meta["sizes"]) - 1
    try:
        net = Network.from_parameters(
            [arrays[weight_name(i)] for i in range(n_layers)],
            [arrays[bias_name(i)] for i in range(n_layers)],
            activation=list(meta["activations"]),
            cost=meta["cost"],
            dtype=np.dtype(meta["dtype"]),
            classes=meta.get("classes"),
        )
    except (TypeError, ValueError) as error:  # e.g. softmax in a hidden layer, bad cost pairing
        raise format_error(path, f"the stored network is invalid: {error}") from None
    except MemoryError:
        raise format_error(path, "not enough memory to build the stored network") from None
    if meta.get("scaling") is not None:
        try:
            net.set_scaling(scaling_from_arrays(meta["scaling"], arrays[SCALING_CENTER],
                                                arrays[SCALING_SCALE], net.dtype))
        except ValueError as error:  # a scale of 0 or less
            raise format_error(path, f"the stored input scaling is invalid: {error}") from None
    net.training_config = meta["training"]
    names = [weight_name(i) for i in range(n_layers)] + [bias_name(i) for i in range(n_layers)]
    slots = {slot: [arrays[f"{slot}.{name}"] for name in names] for slot in meta["slots"]}
    return net, meta, slots
