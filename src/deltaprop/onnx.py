"""ONNX export: a deltaprop network as an ONNX graph that onnxruntime (or any ONNX runtime) can run.

    import deltaprop.onnx
    proto = deltaprop.onnx.to_onnx(net)             # an onnx.ModelProto, checked by onnx.checker
    deltaprop.onnx.save_onnx(net, "model.onnx")     # written atomically
    deltaprop.onnx.export_file("model.safetensors", "model.onnx")

The graph has one input, ``input``, of shape ``["batch", sizes[0]]`` (a symbolic batch dimension: any
number of rows) and one output, ``output``, of shape ``["batch", sizes[-1]]``, both in the network's
dtype (float32 or float64), and computes ``Network.feedforward``. Layer i (0-based) is one
``Gemm(a, layers.{i}.weight, layers.{i}.bias, transB=1)`` (the weights keep deltaprop's and PyTorch's
(n_out, n_in) layout and dtype, stored as initializers under the model file's tensor names) followed by
its activation's node: the ONNX operator the activation declares (``Activation.onnx_operator``), so
that a new activation class brings its ONNX form with it (docs/reference.md lists each). Linear
declares Identity, which adds no node (the Gemm's output is the layer's); one operator is written
otherwise in float64:

    leaky_relu  LeakyRelu(alpha=slope), written in float64 as Where(Greater(z, 0), z, Mul(z, slope))
                with the slope a float64 initializer, as LeakyRelu's ``alpha`` attribute is a float32
                and would round the slope (0.01 by 2.2e-10, so each negative output by 2.2e-10 · |z|)

A network with an input scaling (``Network.scaling``) takes raw features: the graph starts with
``Div(Sub(input, scaling.center), scaling.scale)``, the scaling's arrays stored as initializers under
the model file's tensor names, so it computes a^0 exactly as ``Network.input_activations`` does.

Every op has a float64 kernel in onnxruntime's CPU provider (the tests run them all in both dtypes).
An activation that declares no operator (a custom one), or whose class inherits the declaration of
another (a subclass of a built-in one, whose kernels may differ), raises ValueError naming it. Only
the network is exported: a scikit-learn-style estimator's ``network_`` gives the class probabilities or
regression outputs, not class labels.

``onnx`` is imported only when exporting, so ``import deltaprop`` works without it (install it with
``pip install 'deltaprop[onnx]'``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from deltaprop._files import atomic_write
from deltaprop._version import __version__
from deltaprop.activations import ACTIVATIONS, Activation, OnnxOperator
from deltaprop.io import load
from deltaprop.model_format import SCALING_CENTER, SCALING_SCALE
from deltaprop.network import Network

if TYPE_CHECKING:
    import onnx

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "export_file", "network_of", "save_onnx", "to_onnx"]

DEFAULT_OPSET = 18
"""The ONNX opset of the default domain the graph declares (onnxruntime >= 1.14 runs it)."""

MIN_OPSET = 13
"""The oldest opset accepted: from 13 on, Softmax normalizes along its one ``axis``."""

MAX_PROTO_BYTES = 2**31 - 2**24
"""A ModelProto is one protobuf message, which cannot reach 2 GiB; keep a margin for the graph."""

INSTALL_HINT = "ONNX export needs the onnx package: pip install 'deltaprop[onnx]'"

PathLike = str | os.PathLike[str]


def _import_onnx() -> Any:
    """The onnx package (the real one: this module's absolute ``import onnx`` does not find itself)."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return onnx


def network_of(model: Any) -> Network:
    """The Network of ``model``: the model itself, or a fitted estimator's ``network_`` attribute.

    Raises:
        TypeError: ``model`` is neither a Network nor an object whose ``network_`` is one.
        sklearn.exceptions.NotFittedError (a ValueError): an estimator (it has ``fit``) with no
            ``network_`` yet.
    """
    if isinstance(model, Network):
        return model
    network = getattr(model, "network_", None)
    if isinstance(network, Network):
        return network
    kind = type(model).__name__
    if network is not None:
        raise TypeError(f"{kind}.network_ must be a deltaprop Network, got {type(network).__name__}")
    if callable(getattr(model, "fit", None)):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"this {kind} is not fitted yet: call fit before exporting it to ONNX")
    raise TypeError(
        f"to_onnx needs a deltaprop Network or a fitted estimator with a network_ attribute, got {kind}"
    )


def _declaring_class(act: Activation) -> type:
    """The class whose ``onnx_operator`` ``act`` has (``Activation`` itself when none declares one)."""
    return next(cls for cls in type(act).__mro__ if "onnx_operator" in vars(cls))


def _onnx_operators(net: Network) -> list[OnnxOperator]:
    """The ONNX operator of each layer's activation (see ``Activation.onnx_operator``).

    Raises:
        ValueError: an activation declares none, or inherits the declaration of another class.
    """
    operators = []
    for layer, act in enumerate(net.activations, start=1):
        operator = act.onnx_operator
        if operator is None:
            exportable = [name for name, known in ACTIVATIONS.items()
                          if known.onnx_operator is not None and _declaring_class(known) is type(known)]
            raise ValueError(f"activation {act.name!r} of layer {layer} has no ONNX form; the export "
                             f"supports the activations that declare one: {', '.join(exportable)}")
        owner = _declaring_class(act)
        if owner is not type(act):
            raise ValueError(
                f"activation {act.name!r} of layer {layer} is a custom {type(act).__name__}, not "
                f"{owner.__name__}: its function may differ, so it has no ONNX form"
            )
        operators.append(operator)
    return operators


def _check_options(opset: Any, input_name: Any, output_name: Any, reserved: set[str], latest: int) -> int:
    """The opset to use; raises TypeError/ValueError for a bad opset or bad tensor names."""
    if opset is None:
        opset = min(DEFAULT_OPSET, latest)
    if isinstance(opset, bool) or not isinstance(opset, int | np.integer):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}")
    if not MIN_OPSET <= opset <= latest:
        raise ValueError(f"opset must be between {MIN_OPSET} and {latest} (the installed onnx's "
                         f"newest), got {opset}")
    for label, name in (("input_name", input_name), ("output_name", output_name)):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{label} must be a non-empty string, got {name!r}")
        if name in reserved:
            raise ValueError(f"{label} {name!r} is the name of a tensor inside the graph; choose another")
    if input_name == output_name:
        raise ValueError(f"input_name and output_name must differ, both are {input_name!r}")
    return int(opset)


def _activation_nodes(onnx: Any, act: Activation, operator: OnnxOperator, prefix: str, z: str, a: str,
                      dtype: np.dtype) -> tuple[list[Any], list[Any]]:
    """The nodes computing a = σ(z) for one layer, and the initializers they need."""
    op_type, attributes = operator
    if op_type == "LeakyRelu" and dtype == np.float64:
        return _exact_leaky_relu(onnx, float(attributes["alpha"]), prefix, z, a, dtype)
    # float attributes are float32: LeakyRelu's alpha is exactly a float32 network's slope
    return [onnx.helper.make_node(op_type, [z], [a], name=f"{prefix}.{act.name}", **attributes)], []


def _exact_leaky_relu(onnx: Any, slope: float, prefix: str, z: str, a: str,
                      dtype: np.dtype) -> tuple[list[Any], list[Any]]:
    """a = Where(z > 0, z, slope · z), with the slope a ``dtype`` initializer rather than LeakyRelu's
    float32 ``alpha``; returns the nodes and their initializers."""
    make_node = onnx.helper.make_node
    constants = [onnx.numpy_helper.from_array(np.array(value, dtype), f"{prefix}.leaky_relu.{label}")
                 for label, value in (("zero", 0.0), ("slope", slope))]
    nodes = [
        make_node("Greater", [z, f"{prefix}.leaky_relu.zero"], [f"{prefix}.positive"],
                  name=f"{prefix}.leaky_relu.greater"),
        make_node("Mul", [z, f"{prefix}.leaky_relu.slope"], [f"{prefix}.scaled"],
                  name=f"{prefix}.leaky_relu.mul"),
        make_node("Where", [f"{prefix}.positive", z, f"{prefix}.scaled"], [a],
                  name=f"{prefix}.leaky_relu.where"),
    ]
    return nodes, constants


def _layers(onnx: Any, net: Network, operators: list[OnnxOperator], input_name: str,
            output_name: str) -> tuple[list[Any], list[Any]]:
    """The nodes and initializers of every layer, from ``input_name`` to ``output_name``, each layer's
    activation written as its ONNX operator (one per layer)."""
    nodes, initializers = _scaling(onnx, net, input_name)
    a = nodes[-1].output[0] if nodes else input_name
    layers = zip(net.weights, net.biases, net.activations, operators, strict=True)
    for i, (w, b, act, operator) in enumerate(layers):
        prefix = f"layers.{i}"
        last = i == net.num_layers - 1
        weight = onnx.numpy_helper.from_array(w, f"{prefix}.weight")
        bias = onnx.numpy_helper.from_array(b, f"{prefix}.bias")
        initializers += [weight, bias]
        layer_out = output_name if last else f"{prefix}.a"
        identity = operator[0] == "Identity"  # needs no node: the Gemm writes the layer's output
        z = layer_out if identity else f"{prefix}.z"
        nodes.append(onnx.helper.make_node("Gemm", [a, weight.name, bias.name], [z], transB=1,
                                           name=f"{prefix}.gemm"))
        if not identity:
            act_nodes, constants = _activation_nodes(onnx, act, operator, prefix, z, layer_out, net.dtype)
            nodes += act_nodes
            initializers += constants
        a = layer_out
    return nodes, initializers


def _scaling(onnx: Any, net: Network, input_name: str) -> tuple[list[Any], list[Any]]:
    """a^0 = (input − center) / scale as two nodes and two initializers, or nothing without a scaling."""
    if net.scaling is None:
        return [], []
    make_node = onnx.helper.make_node
    initializers = [onnx.numpy_helper.from_array(net.scaling.center, SCALING_CENTER),
                    onnx.numpy_helper.from_array(net.scaling.scale, SCALING_SCALE)]
    nodes = [make_node("Sub", [input_name, SCALING_CENTER], ["scaling.centered"], name="scaling.sub"),
             make_node("Div", ["scaling.centered", SCALING_SCALE], ["scaling.a"], name="scaling.div")]
    return nodes, initializers


def _description(net: Network, input_name: str, output_name: str) -> dict[str, Any]:
    """What the model's metadata says about the network (JSON-serializable)."""
    return {
        "sizes": list(net.sizes),
        "activations": net.activation_names,
        "cost": net.cost_function.name,
        "dtype": net.dtype.name,
        "scaling": None if net.scaling is None else net.scaling.name,
        "input": {"name": input_name, "shape": ["batch", net.sizes[0]]},
        "output": {"name": output_name, "shape": ["batch", net.sizes[-1]]},
        "deltaprop_version": __version__,
    }


def _reserved_names(net: Network) -> set[str]:
    """Names of tensors inside the graph, which the input and output may not take."""
    names = {SCALING_CENTER, SCALING_SCALE, "scaling.centered", "scaling.a"}
    for i in range(net.num_layers):
        names |= {f"layers.{i}.{part}" for part in ("weight", "bias", "z", "a", "positive", "scaled",
                                                      "leaky_relu.zero", "leaky_relu.slope")}
    return names


def to_onnx(model: Any, *, opset: int | None = None, input_name: str = "input",
            output_name: str = "output") -> onnx.ModelProto:
    """The ONNX model of a network, or of a fitted estimator's ``network_``, checked by onnx.checker.

    Args:
        model: a ``Network``, or any object whose ``network_`` attribute holds one.
        opset: the ONNX opset (default 18, or the installed onnx's newest if older; at least 13).
        input_name: the graph input's name; its shape is ``["batch", sizes[0]]``.
        output_name: the graph output's name; its shape is ``["batch", sizes[-1]]``.

    Both are in the network's dtype (float32 or float64), like the weights. The module docstring
    lists the ops of each activation.

    Raises:
        ImportError: onnx is not installed.
        TypeError: ``model`` holds no Network, or ``opset`` is not an int.
        ValueError: an activation has no ONNX form (custom), a bad opset or name, or a network too
            large for one protobuf message (2 GiB).
    """
    onnx = _import_onnx()
    net = network_of(model)
    operators = _onnx_operators(net)
    opset = _check_options(opset, input_name, output_name, _reserved_names(net),
                           onnx.defs.onnx_opset_version())
    nbytes = net.num_parameters * net.dtype.itemsize
    if nbytes > MAX_PROTO_BYTES:
        raise ValueError(f"the network's {nbytes} bytes of parameters exceed what one ONNX protobuf "
                         f"can hold ({MAX_PROTO_BYTES} bytes); the export does not use external data")
    helper = onnx.helper
    elem_type = helper.np_dtype_to_tensor_dtype(net.dtype)
    nodes, initializers = _layers(onnx, net, operators, input_name, output_name)
    description = _description(net, input_name, output_name)
    graph = helper.make_graph(
        nodes, "deltaprop",
        [helper.make_tensor_value_info(input_name, elem_type, ["batch", net.sizes[0]])],
        [helper.make_tensor_value_info(output_name, elem_type, ["batch", net.sizes[-1]])],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="deltaprop",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    proto.doc_string = (
        f"deltaprop feedforward network: sizes {list(net.sizes)}, activations {net.activation_names}, "
        f"cost {net.cost_function.name!r}, dtype {net.dtype.name}. Input {input_name!r} of shape "
        f"[batch, {net.sizes[0]}], output {output_name!r} of shape [batch, {net.sizes[-1]}]."
    )
    helper.set_model_props(proto, {"deltaprop": json.dumps(description)})
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _serialize(proto: Any, file: IO[bytes]) -> None:
    """Write the model's protobuf bytes to ``file``."""
    file.write(proto.SerializeToString())


def save_onnx(model: Any, path: PathLike, *, opset: int | None = None, input_name: str = "input",
              output_name: str = "output") -> None:
    """Export ``model`` (see ``to_onnx``) to an ONNX file at ``path``, atomically: ``path`` holds
    either its old content or the whole new model, and no temporary file is left on error."""
    proto = to_onnx(model, opset=opset, input_name=input_name, output_name=output_name)
    with atomic_write(path) as file:
        _serialize(proto, file)


def _same_file(first: str, second: str) -> bool:
    """Whether two paths name the same file (one that exists, or the same resolved path)."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return Path(first).resolve() == Path(second).resolve()


def export_file(model_path: PathLike, onnx_path: PathLike, *, opset: int | None = None) -> None:
    """Load a model file written by ``deltaprop.save`` and save it as ONNX at ``onnx_path``.

    Raises:
        ModelFormatError: the model file is malformed (a ValueError).
        ValueError: the model cannot be exported (a custom activation), or ``onnx_path`` is the
            model file itself.
        OSError: a file cannot be read or written; ``onnx_path`` is then left as it was.
        ImportError: onnx is not installed.
    """
    paths: list[str] = []
    for label, path in (("model_path", model_path), ("onnx_path", onnx_path)):
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"{label} must be a str or os.PathLike[str], got {type(path).__name__}")
        paths.append(path)
    source, target = paths
    if _same_file(source, target):
        raise ValueError(f"the ONNX file {target} would overwrite the model file {source}; "
                         f"choose another name")
    _import_onnx()  # before reading a large model for nothing
    net = load(source)
    try:
        save_onnx(net, target, opset=opset)
    except ValueError as error:
        raise ValueError(f"cannot export {source} to ONNX: {error}") from error

