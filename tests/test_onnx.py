"""ONNX export: onnxruntime runs the exported graph and gets feedforward's outputs, for every registered
activation as hidden and output layer and both dtypes; names, shapes, metadata, errors and file writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

import deltaprop  # noqa: E402
import deltaprop.onnx as dponnx  # noqa: E402
from deltaprop import Activation, Network  # noqa: E402
from deltaprop.activations import ACTIVATIONS, LeakyReLU, ReLU  # noqa: E402
from deltaprop.errors import ModelFormatError  # noqa: E402

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}
OUTPUTS = list(ACTIVATIONS)  # every registered activation brings its ONNX form
HIDDEN = [name for name in OUTPUTS if ACTIVATIONS[name].elementwise]


def run(proto: onnx.ModelProto, X: np.ndarray, input_name: str = "input") -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {input_name: X})
    return output


def assert_matches(net: Network, proto: onnx.ModelProto, X: np.ndarray, input_name: str = "input") -> None:
    """The graph's output equals feedforward to the dtype's tolerance, relative above 1."""
    got, expected = run(proto, X, input_name), net.feedforward(X)
    assert got.dtype == net.dtype and got.shape == expected.shape
    error = np.max(np.abs(got.astype(np.float64) - expected) / np.maximum(1.0, np.abs(expected)))
    assert error <= TOLERANCE[net.dtype.name]


def inputs(net: Network, m: int, seed: int = 1) -> np.ndarray:
    return (2.0 * np.random.default_rng(seed).normal(size=(m, net.sizes[0]))).astype(net.dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnxruntime_equals_feedforward(hidden, output, dtype):
    net = Network([4, 6, 5, 3], activation=hidden, output_activation=output, cost="quadratic",
                  seed=3, dtype=dtype)
    proto = dponnx.to_onnx(net)
    for m in (1, 7):  # the batch dimension is symbolic
        assert_matches(net, proto, inputs(net, m))


def test_an_mnist_sized_network_in_float64():
    net = Network([784, 30, 10], cost="cross_entropy", seed=0)
    assert_matches(net, dponnx.to_onnx(net), np.random.default_rng(0).uniform(size=(100, 784)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_leaky_relu_keeps_its_slope_exactly(dtype):
    # 0.1 is not a float32: LeakyRelu's float32 alpha would put outputs off by 1.5e-9 · |z| in float64
    net = Network([3, 8, 2], activation=LeakyReLU(slope=0.1), output_activation=LeakyReLU(slope=0.1),
                  cost="quadratic", seed=0, dtype=dtype)
    proto = dponnx.to_onnx(net)
    X = inputs(net, 50) * 100
    assert_matches(net, proto, X)
    ops = {node.op_type for node in proto.graph.node}
    assert ("LeakyRelu" in ops) == (dtype == "float32")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_graph_structure_names_shapes_and_dtypes(dtype):
    net = Network([4, 6, 3], activation="relu", output_activation="softmax", seed=0, dtype=dtype)
    proto = dponnx.to_onnx(net)
    onnx.checker.check_model(proto, full_check=True)
    elem = onnx.TensorProto.DOUBLE if dtype == "float64" else onnx.TensorProto.FLOAT
    for value, size, name in ((proto.graph.input, 4, "input"), (proto.graph.output, 3, "output")):
        (info,) = value
        assert info.name == name and info.type.tensor_type.elem_type == elem
        batch, units = info.type.tensor_type.shape.dim
        assert batch.dim_param == "batch" and units.dim_value == size
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    gemm = proto.graph.node[0]
    assert {a.name: a.i for a in gemm.attribute} == {"transB": 1}
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    assert sorted(weights) == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]
    np.testing.assert_array_equal(weights["layers.1.weight"], net.weights[1])
    assert all(w.dtype == net.dtype for w in weights.values())
    assert proto.opset_import[0].version == dponnx.DEFAULT_OPSET


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softplus_is_one_softplus_node(dtype):
    net = Network([3, 5, 4, 2], activation="softplus", output_activation="softplus", cost="quadratic",
                  seed=1, dtype=dtype)
    proto = dponnx.to_onnx(net)
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Softplus"] * 3
    X = inputs(net, 40) * 20  # both tails: ln(1 + e^z) ≈ e^z and ≈ z
    assert_matches(net, proto, X)


class Softsign(Activation):
    """σ(z) = z / (1 + |z|): a custom activation that declares its ONNX operator."""

    onnx_operator = ("Softsign", {})

    def __init__(self) -> None:
        super().__init__("softsign", lambda z: z / (1 + np.abs(z)), lambda z, a: (1 - np.abs(a)) ** 2)


def test_a_custom_activation_that_declares_its_operator_is_exported():
    net = Network([3, 4, 2], activation=Softsign(), output_activation="linear", cost="quadratic", seed=0)
    proto = dponnx.to_onnx(net)
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Softsign", "Gemm"]
    assert_matches(net, proto, inputs(net, 6))


def test_linear_layers_add_no_node():
    net = Network([3, 4, 2], activation="linear", output_activation="linear", cost="quadratic", seed=0)
    assert [node.op_type for node in dponnx.to_onnx(net).graph.node] == ["Gemm", "Gemm"]


def test_metadata_names_the_network():
    net = Network([4, 5, 2], activation="tanh", output_activation="sigmoid", cost="cross_entropy", seed=0)
    proto = dponnx.to_onnx(net)
    assert proto.producer_name == "deltaprop" and proto.producer_version == deltaprop.__version__
    for fragment in ("[4, 5, 2]", "['tanh', 'sigmoid']", "'cross_entropy'", "float64"):
        assert fragment in proto.doc_string
    props = {p.key: p.value for p in proto.metadata_props}
    meta = json.loads(props["deltaprop"])
    assert meta["sizes"] == [4, 5, 2] and meta["activations"] == ["tanh", "sigmoid"]
    assert meta["cost"] == "cross_entropy" and meta["input"] == {"name": "input", "shape": ["batch", 4]}


def test_custom_names_and_opset():
    net = Network([3, 4, 2], activation="sigmoid", output_activation="softmax", seed=0)
    proto = dponnx.to_onnx(net, opset=17, input_name="x", output_name="probabilities")
    assert proto.opset_import[0].version == 17
    assert proto.graph.input[0].name == "x" and proto.graph.output[0].name == "probabilities"
    assert_matches(net, proto, inputs(net, 5), input_name="x")


@pytest.mark.parametrize("options, error", [
    ({"opset": 12}, ValueError), ({"opset": 10_000}, ValueError), ({"opset": "18"}, TypeError),
    ({"opset": True}, TypeError), ({"input_name": ""}, ValueError),
    ({"input_name": "y", "output_name": "y"}, ValueError), ({"output_name": "layers.0.weight"}, ValueError),
])
def test_bad_options_are_refused(options, error):
    with pytest.raises(error):
        dponnx.to_onnx(Network([2, 2], seed=0), **options)


class Fitted:
    """A stand-in for a fitted scikit-learn-style estimator."""

    def __init__(self, network):
        self.network_ = network

    def fit(self, X, y):
        return self


def test_estimators_are_exported_through_network_():
    net = Network([3, 5, 2], activation="relu", output_activation="softmax", seed=0)
    assert_matches(net, dponnx.to_onnx(Fitted(net)), inputs(net, 4))


def test_models_without_a_network_are_refused():
    from sklearn.exceptions import NotFittedError

    unfitted = Fitted(None)
    del unfitted.network_
    with pytest.raises(NotFittedError, match="not fitted"):
        dponnx.to_onnx(unfitted)
    with pytest.raises(TypeError, match="network_ must be a deltaprop Network"):
        dponnx.to_onnx(Fitted("a network"))
    with pytest.raises(TypeError, match="got list"):
        dponnx.to_onnx([1, 2])


def test_custom_activations_are_refused_by_name():
    swish = Activation("swish", lambda z: z / (1 + np.exp(-z)), lambda z, a: np.ones_like(z))
    with pytest.raises(ValueError, match="'swish' of layer 1 has no ONNX form.*: sigmoid, .*softplus"):
        dponnx.to_onnx(Network([3, 4, 2], activation=swish, output_activation="linear",
                                         cost="quadratic", seed=0))

    class ClippedReLU(ReLU):
        def forward(self, z, out):
            return np.clip(z, 0.0, 6.0, out=out)

    with pytest.raises(ValueError, match="'relu' of layer 2 is a custom ClippedReLU"):
        dponnx.to_onnx(Network([3, 4, 2], activation="tanh", output_activation=ClippedReLU(),
                                         cost="quadratic", seed=0))


def test_too_large_networks_are_refused(monkeypatch):
    monkeypatch.setattr(dponnx, "MAX_PROTO_BYTES", 100)
    with pytest.raises(ValueError, match="exceed what one ONNX protobuf"):
        dponnx.to_onnx(Network([4, 4], seed=0))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_export_file_round_trip(tmp_path, dtype):
    net = Network([4, 6, 3], activation="leaky_relu", output_activation="softmax", seed=2, dtype=dtype)
    deltaprop.save(net, tmp_path / "model.safetensors")
    dponnx.export_file(tmp_path / "model.safetensors", str(tmp_path / "model.onnx"))
    proto = onnx.load(str(tmp_path / "model.onnx"))
    assert_matches(net, proto, inputs(net, 9))
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "model.safetensors"]


def test_export_file_refuses_bad_input(tmp_path):
    model = tmp_path / "model.safetensors"
    with pytest.raises(FileNotFoundError):
        dponnx.export_file(model, tmp_path / "out.onnx")
    model.write_bytes(b"not a model at all")
    with pytest.raises(ModelFormatError):
        dponnx.export_file(model, tmp_path / "out.onnx")
    deltaprop.save(Network([2, 2], seed=0), model)
    before = model.read_bytes()
    with pytest.raises(ValueError, match="would overwrite the model file"):
        dponnx.export_file(model, tmp_path / "." / "model.safetensors")
    assert model.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]


def test_save_onnx_onto_a_folder_leaves_no_temporary(tmp_path):
    (tmp_path / "out.onnx").mkdir()
    (tmp_path / "out.onnx" / "keep").write_text("x")
    with pytest.raises(OSError):
        dponnx.save_onnx(Network([2, 2], seed=0), tmp_path / "out.onnx")
    assert os.listdir(tmp_path) == ["out.onnx"] and os.listdir(tmp_path / "out.onnx") == ["keep"]


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")

    def interrupted(proto, file):
        file.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(dponnx, "_serialize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dponnx.save_onnx(Network([2, 2], seed=0), target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.onnx"]
    with pytest.raises(ValueError, match="no ONNX form"):  # a refused export writes nothing either
        cube = Activation("cube", lambda z: z**3, lambda z, a: z)
        dponnx.save_onnx(Network([2, 2], output_activation=cube, cost="quadratic", seed=0), target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.onnx"]


def test_the_real_onnx_is_imported():
    assert dponnx._import_onnx() is onnx and hasattr(onnx, "ModelProto")


def test_missing_onnx_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'deltaprop\[onnx\]'"):
        dponnx.to_onnx(Network([2, 2], seed=0))


def test_deltaprop_imports_without_onnx():
    code = ("import sys; sys.modules['onnx'] = None; import deltaprop, deltaprop.onnx; "
            "assert sys.modules['onnx'] is None; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
