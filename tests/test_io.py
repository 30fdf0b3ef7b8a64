"""Model files (deltaprop.io): round trips, PyTorch, validation, atomic writes, fuzzing."""

from __future__ import annotations

import json
import os
import pathlib
import struct
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import deltaprop
from deltaprop import Network, io
from deltaprop.errors import ModelFormatError

ARCHITECTURES = [
    # sizes, activation(s), cost
    ([2, 3, 1], "sigmoid", "quadratic"),
    ([4, 5, 3], ["relu", "softmax"], "log_likelihood"),
    ([3, 6, 5, 2], ["tanh", "leaky_relu", "sigmoid"], "cross_entropy"),
    ([5, 2], "linear", "quadratic"),
    ([7, 4, 4, 4, 3], ["relu", "tanh", "linear", "softmax"], "cross_entropy"),
]
ARCH_IDS = ["sigmoid", "relu-softmax", "tanh-leaky-sigmoid", "linear", "deep-softmax"]


def make_net(
    sizes: list[int] | None = None,
    activation: Any = "sigmoid",
    cost: str = "quadratic",
    dtype: str = "float64",
    seed: int = 0,
) -> Network:
    return Network(sizes or [2, 3, 1], activation=activation, cost=cost, seed=seed, dtype=dtype)


def write_raw(
    path: pathlib.Path,
    tensors: dict[str, np.ndarray],
    meta: dict[str, Any] | str | None,
    **other_metadata: str,
) -> pathlib.Path:
    """A safetensors file with the given tensors and deltaprop metadata (dict, raw str, or none)."""
    metadata = dict(other_metadata)
    if meta is not None:
        metadata["deltaprop"] = meta if isinstance(meta, str) else json.dumps(meta)
    path.write_bytes(safetensors.numpy.save(tensors, metadata=metadata or None))
    return path


def raw_file(header: dict[str, Any] | bytes, data: bytes = b"") -> bytes:
    """Bytes of a safetensors file with an arbitrary header (a JSON object or raw bytes)."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.fixture
def saved(tmp_path: pathlib.Path) -> tuple[pathlib.Path, dict[str, np.ndarray], dict[str, Any]]:
    """A valid small model file, its tensors and its metadata."""
    net = make_net([2, 3, 1], seed=1)
    net.training_config = {"eta": 0.5, "epochs": 3}
    path = tmp_path / "good.safetensors"
    io.save(net, path)
    tensors = {k: v.copy() for k, v in safetensors.numpy.load_file(path).items()}
    return path, tensors, io.read_metadata(path)


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("sizes", "activation", "cost"), ARCHITECTURES, ids=ARCH_IDS)
def test_round_trip(tmp_path, sizes, activation, cost, dtype):
    net = make_net(sizes, activation, cost, dtype, seed=42)
    net.training_config = {"eta": 0.1, "epochs": 2, "lmbda": 0.0, "schedule": [1, 2], "x": None}
    path = tmp_path / "model.safetensors"
    io.save(net, path)
    loaded = io.load(path)

    assert loaded.sizes == net.sizes
    assert loaded.activation_names == net.activation_names
    assert loaded.cost_function.name == net.cost_function.name
    assert loaded.dtype == net.dtype == np.dtype(dtype)
    assert loaded.training_config == net.training_config
    for got, want in zip(loaded.weights + loaded.biases, net.weights + net.biases, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()  # bitwise equal
        assert got.flags.writeable and got.flags.owndata
    X = np.random.default_rng(0).normal(size=(9, sizes[0]))
    np.testing.assert_array_equal(loaded.feedforward(X), net.feedforward(X))


def test_save_and_load_accept_str_and_pathlike_and_network_save(tmp_path):
    net = make_net()
    io.save(net, str(tmp_path / "a.safetensors"))
    deltaprop.save(net, tmp_path / "b.safetensors")
    a = io.load(tmp_path / "a.safetensors")
    b = io.load(str(tmp_path / "b.safetensors"))
    assert a.weights[0].tobytes() == b.weights[0].tobytes() == net.weights[0].tobytes()


def test_save_replaces_an_existing_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(make_net(seed=1), path)
    if os.name == "posix":
        os.chmod(path, 0o640)
    io.save(make_net(seed=2), path)
    assert io.load(path).weights[0].tobytes() == make_net(seed=2).weights[0].tobytes()
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_metadata_contents_and_extra_metadata(tmp_path):
    net = make_net([4, 5, 3], ["relu", "softmax"], "log_likelihood", "float32")
    net.training_config = {"eta": np.float64(0.25), "epochs": np.int64(4), "sizes": (1, 2)}
    path = tmp_path / "m.safetensors"
    io.save(net, path, extra_metadata={"dataset": "mnist", "accuracy": 0.97})
    meta = io.read_metadata(path)
    assert meta == {
        "format_version": 1,  # a model without an input scaling stays readable by deltaprop 0.1
        "sizes": [4, 5, 3],
        "activations": ["relu", "softmax"],
        "cost": "log_likelihood",
        "dtype": "float32",
        "training": {"eta": 0.25, "epochs": 4, "sizes": [1, 2]},
        "deltaprop_version": deltaprop.__version__,
        "slots": [],
        "dataset": "mnist",
        "accuracy": 0.97,
    }
    with safetensors.safe_open(path, framework="np") as f:
        assert set(f.metadata()) == {"deltaprop"}
        assert sorted(f.keys()) == [
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight",
        ]
    assert io.load(path).training_config == meta["training"]


def test_extra_metadata_may_not_override_reserved_keys_or_be_unserializable(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match="reserved key 'sizes'"):
        io.save(make_net(), path, extra_metadata={"sizes": [1, 2]})
    with pytest.raises(ValueError, match="JSON"):
        io.save(make_net(), path, extra_metadata={"f": object()})
    with pytest.raises(ValueError, match="JSON"):
        io.save(make_net(), path, extra_metadata={"f": float("nan")})
    assert not path.exists() and os.listdir(tmp_path) == []


# -- PyTorch compatibility ------------------------------------------------------------------------


@pytest.mark.parametrize(("sizes", "activation", "cost"), ARCHITECTURES, ids=ARCH_IDS)
def test_file_loads_into_a_pytorch_module(tmp_path, sizes, activation, cost):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    functions = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, negative_slope=0.01),
        "linear": lambda z: z,
        "softmax": lambda z: torch.softmax(z, dim=1),
    }

    class MLP(torch.nn.Module):
        def __init__(self, sizes: list[int]) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(
                torch.nn.Linear(n_in, n_out, dtype=torch.float64)
                for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
            )

        def forward(self, x, activations):
            for layer, name in zip(self.layers, activations, strict=True):
                x = functions[name](layer(x))
            return x

    net = make_net(sizes, activation, cost, "float64", seed=7)
    path = tmp_path / "model.safetensors"
    io.save(net, path)
    module = MLP(sizes)
    result = module.load_state_dict(safetensors.torch.load_file(path), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    X = np.random.default_rng(1).normal(size=(16, sizes[0]))
    with torch.no_grad():
        out = module(torch.from_numpy(X), net.activation_names).numpy()
    np.testing.assert_allclose(out, net.feedforward(X), rtol=0, atol=1e-12)


def test_float32_file_loads_into_a_float32_pytorch_module(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    path = tmp_path / "model.safetensors"
    io.save(make_net([3, 4, 2], dtype="float32"), path)
    state = safetensors.torch.load_file(path)
    assert all(t.dtype == torch.float32 for t in state.values())
    module = torch.nn.Module()
    module.layers = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    module.load_state_dict(state, strict=True)


# -- malformed files ------------------------------------------------------------------------------


def test_newer_format_version_asks_to_upgrade(tmp_path, saved):
    _, tensors, meta = saved
    path = write_raw(tmp_path / "new.safetensors", tensors, {**meta, "format_version": io.FORMAT_VERSION + 1})
    for read in (io.load, io.read_metadata):
        with pytest.raises(ModelFormatError, match=r"newer deltaprop.*upgrade") as info:
            read(path)
        assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("sizes"), "lacks the required field 'sizes'"),
        (lambda m: m.pop("format_version"), "format_version"),
        (lambda m: m.update(format_version=True), "'format_version': expected a valid integer, found True"),
        (lambda m: m.update(format_version="1"), "format_version"),
        (lambda m: m.update(format_version=0), "'format_version': expected greater than or equal to 1"),
        (lambda m: m.update(sizes="2,3,1"), "'sizes': expected a valid list, found '2,3,1'"),
        (lambda m: m.update(sizes=[2, 3.0, 1]), "'sizes.1': expected a valid integer, found 3.0"),
        (lambda m: m.update(sizes=[2, True, 1]), "'sizes.1': expected a valid integer, found True"),
        (lambda m: m.update(sizes=[2, 0, 1]), "'sizes.1': expected greater than or equal to 1, found 0"),
        (lambda m: m.update(activations=["sigmoid"]), "'activations' must list 2"),
        (lambda m: m.update(activations=["sigmoid", 3]), "'activations.1': expected a valid string"),
        (lambda m: m.update(cost=None), "'cost': expected a valid string, found None"),
        (lambda m: m.update(dtype="float16"), "'dtype': expected 'float32' or 'float64', found 'float16'"),
        (lambda m: m.update(training=[]), "'training': expected a valid dictionary, found \\[\\]"),
        (lambda m: m.update(deltaprop_version=1), "'deltaprop_version': expected a valid string"),
        (lambda m: m.update(sizes=[1] * 1002, activations=["sigmoid"] * 1001),
         "'sizes': List should have at most 1001 items, not 1002, found <list of 1,002"),
        (lambda m: m.update(slots=["velocity", "velocity"]), "slot names must be distinct"),
        (lambda m: m.update(slots=["no such"]), "'slots.0': String should match pattern"),
        (lambda m: m.update(image_shape=[2, 2]),
         "'image_shape' \\[2, 2\\] has 4 pixels, but the network takes 2"),
        (lambda m: m.update(data_seed=-1), "'data_seed': expected greater than or equal to 0, found -1"),
        (lambda m: m.update(test_accuracy=1.5), "'test_accuracy': expected less than or equal to 1"),
    ],
)
def test_invalid_metadata_fields(tmp_path, saved, change, message):
    _, tensors, meta = saved
    change(meta)
    path = write_raw(tmp_path / "bad.safetensors", tensors, meta)
    for read in (io.load, io.read_metadata):
        with pytest.raises(ModelFormatError, match=message):
            read(path)


def test_unknown_activation_and_cost_are_named_with_the_known_ones(tmp_path, saved):
    _, tensors, meta = saved
    path = write_raw(
        tmp_path / "a.safetensors", tensors, {**meta, "activations": ["swish", "sigmoid"]}
    )
    with pytest.raises(ModelFormatError, match=r"unknown activation 'swish'.*'relu'.*'sigmoid'"):
        io.load(path)
    path = write_raw(tmp_path / "c.safetensors", tensors, {**meta, "cost": "hinge"})
    with pytest.raises(ModelFormatError, match=r"unknown cost 'hinge'.*'cross_entropy'"):
        io.read_metadata(path)


def test_invalid_network_in_valid_metadata(tmp_path, saved):
    _, tensors, meta = saved
    bad_pairing = {**meta, "cost": "cross_entropy", "activations": ["sigmoid", "relu"]}
    path = write_raw(tmp_path / "p.safetensors", tensors, bad_pairing)
    with pytest.raises(ModelFormatError, match="cross_entropy"):
        io.load(path)
    hidden_softmax = {**meta, "activations": ["softmax", "sigmoid"]}
    path = write_raw(tmp_path / "s.safetensors", tensors, hidden_softmax)
    with pytest.raises(ModelFormatError, match="softmax"):
        io.load(path)


def test_missing_tensor(tmp_path, saved):
    _, tensors, meta = saved
    del tensors["layers.1.bias"]
    path = write_raw(tmp_path / "m.safetensors", tensors, meta)
    with pytest.raises(ModelFormatError, match="missing tensors 'layers.1.bias'"):
        io.load(path)


def test_extra_tensor(tmp_path, saved):
    _, tensors, meta = saved
    tensors["layers.2.weight"] = np.zeros((1, 1), dtype=np.float64)
    path = write_raw(tmp_path / "m.safetensors", tensors, meta)
    with pytest.raises(ModelFormatError, match="unexpected tensors 'layers.2.weight'"):
        io.load(path)


def test_misshapen_tensor(tmp_path, saved):
    _, tensors, meta = saved
    tensors["layers.0.weight"] = tensors["layers.0.weight"].T.copy()
    path = write_raw(tmp_path / "m.safetensors", tensors, meta)
    with pytest.raises(ModelFormatError, match=r"'layers.0.weight' has shape \[2, 3\]"):
        io.load(path)
    tensors["layers.0.weight"] = tensors["layers.0.weight"].reshape(-1)
    path = write_raw(tmp_path / "m.safetensors", tensors, meta)
    with pytest.raises(ModelFormatError, match="'layers.0.weight' has shape"):
        io.load(path)


@pytest.mark.parametrize("sizes", [[2, 4, 1], [3, 3, 1], [2, 3, 2], [2, 3], [2, 3, 1, 1]])
def test_metadata_lying_about_sizes(tmp_path, saved, sizes):
    _, tensors, meta = saved
    activations = ["sigmoid"] * (len(sizes) - 1)
    path = write_raw(
        tmp_path / "m.safetensors", tensors, {**meta, "sizes": sizes, "activations": activations}
    )
    with pytest.raises(ModelFormatError, match="shape|missing|unexpected"):
        io.load(path)
    with pytest.raises(ModelFormatError):
        io.read_metadata(path)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.int32, np.uint8, bool])
def test_wrong_dtype(tmp_path, saved, dtype):
    _, tensors, meta = saved  # a float64 network
    tensors["layers.1.weight"] = tensors["layers.1.weight"].astype(dtype)
    path = write_raw(tmp_path / "m.safetensors", tensors, meta)
    with pytest.raises(ModelFormatError, match="'layers.1.weight' has dtype"):
        io.load(path)


def test_float32_tensors_with_float64_metadata_and_vice_versa(tmp_path, saved):
    _, tensors, meta = saved
    as32 = {k: v.astype(np.float32) for k, v in tensors.items()}
    path = write_raw(tmp_path / "m.safetensors", as32, meta)
    with pytest.raises(ModelFormatError, match="dtype 'F32'.*'float64'"):
        io.load(path)
    path = write_raw(tmp_path / "m.safetensors", tensors, {**meta, "dtype": "float32"})
    with pytest.raises(ModelFormatError, match="dtype 'F64'.*'float32'"):
        io.load(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_tensor(tmp_path, saved, value):
    _, tensors, meta = saved
    tensors["layers.0.bias"][1] = value
    path = write_raw(tmp_path / "m.safetensors", tensors, meta)
    with pytest.raises(ModelFormatError, match="'layers.0.bias' contains NaN or infinite"):
        io.load(path)


@pytest.mark.parametrize(
    ("meta", "other", "message"),
    [
        ("{not json", {}, "not valid JSON"),
        ("", {}, "not valid JSON"),
        ('{"format_version": NaN}', {}, "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, {}, "nested 100000 deep, more than the limit of 32"),
        ("[1, 2]", {}, "must be a JSON object"),
        (None, {}, "no metadata"),
        (None, {"format": "pt"}, "no 'deltaprop' entry"),
    ],
    ids=["garbled", "empty", "nan", "deep", "array", "none", "foreign"],
)
def test_bad_metadata_json(tmp_path, saved, meta, other, message):
    _, tensors, _ = saved
    path = write_raw(tmp_path / "m.safetensors", tensors, meta, **other)
    for read in (io.load, io.read_metadata):
        with pytest.raises(ModelFormatError, match=message):
            read(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 7,
        b"\x00" * 8,
        struct.pack("<Q", 2) + b"[]",
        struct.pack("<Q", 2) + b"\xff\xfe",
        struct.pack("<Q", 1 << 63) + b"{}",
        raw_file(b"{" * 50_000),
        raw_file({"__metadata__": {"deltaprop": 3}}),
        raw_file({"__metadata__": "x"}),
        b"PK\x03\x04 this is a zip, or a pickle: \x80\x04\x95",
    ],
    ids=[
        "empty",
        "short",
        "zero-header",
        "array",
        "utf8",
        "huge",
        "deep",
        "int-meta",
        "str-meta",
        "other",
    ],
)
def test_not_a_model_file(tmp_path, content):
    path = tmp_path / "m.safetensors"
    path.write_bytes(content)
    for read in (io.load, io.read_metadata):
        with pytest.raises(ModelFormatError) as info:
            read(path)
        assert str(path) in str(info.value)


def test_empty_file_message(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.touch()
    with pytest.raises(ModelFormatError, match="empty"):
        io.load(path)


def test_corrupt_tensor_entries(tmp_path, saved):
    path, _, _ = saved
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    for entry_change in (
        {"data_offsets": [0, 10**6]},
        {"data_offsets": [5, 3]},
        {"data_offsets": "x"},
        {"dtype": "F64", "shape": [3, 2], "data_offsets": None},
    ):
        bad = json.loads(json.dumps(header))
        bad["layers.0.weight"].update(entry_change)
        path.write_bytes(raw_file(bad, body))
        with pytest.raises(ModelFormatError):
            io.load(path)
    bad = json.loads(json.dumps(header))
    bad["layers.0.weight"] = [1, 2]
    path.write_bytes(raw_file(bad, body))
    with pytest.raises(ModelFormatError, match="not an object"):
        io.load(path)


def test_every_truncation_fails(tmp_path, saved):
    path, _, _ = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        with pytest.raises(ModelFormatError):
            io.load(cut)
    cut.write_bytes(data + b"\x00")
    with pytest.raises(ModelFormatError):
        io.load(cut)


def test_random_garbage(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "garbage.safetensors"
    for size in (1, 8, 9, 100, 1000, 10_000):
        path.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        with pytest.raises(ModelFormatError):
            io.load(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError):
        io.read_metadata(tmp_path / "nope.safetensors")
    with pytest.raises(OSError):
        io.load(tmp_path)


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch, saved):
    path, _, _ = saved
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 100)
    with pytest.raises(ModelFormatError, match="too large"):
        io.load(path)


# -- atomic saving --------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_save_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "model.safetensors"
    io.save(make_net(seed=1), path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(f"simulated {failing} failure")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="simulated"):
        io.save(make_net(seed=2), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert io.load(path).weights[0].tobytes() == make_net(seed=1).weights[0].tobytes()


def test_failed_write_halfway(tmp_path, monkeypatch):
    """A write that fails after writing part of the data leaves no partial file anywhere."""
    path = tmp_path / "model.safetensors"
    io.save(make_net(seed=1), path)
    before = path.read_bytes()
    real_fdopen = os.fdopen

    class HalfFile:
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def __getattr__(self, name):
            return getattr(self.file, name)

        def write(self, data):
            self.file.write(data[: len(data) // 2])
            self.file.flush()
            raise OSError("simulated write failure: disk full")

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfFile(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="simulated write"):
        io.save(make_net(seed=2), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.save(make_net(), tmp_path / "no" / "such" / "model.safetensors")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["weights", "biases"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_saving_a_non_finite_network_writes_nothing(tmp_path, where, value):
    net = make_net([2, 3, 4, 1])
    getattr(net, where)[1][0] = value
    path = tmp_path / "model.safetensors"
    with pytest.raises(ValueError, match=rf"layer 2 \({where}\[1\]\).*NaN or infinite"):
        io.save(net, path)
    assert os.listdir(tmp_path) == []
    io.save(make_net([2, 3, 4, 1]), path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="layer 2"):
        io.save(net, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]


# -- fuzzing --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def model_bytes(fuzz_dir) -> bytes:
    net = make_net([2, 3, 2], ["tanh", "softmax"], "log_likelihood", "float32", seed=3)
    net.training_config = {"eta": 0.1}
    path = fuzz_dir / "base.safetensors"
    io.save(net, path)
    return path.read_bytes()


def _only_model_format_errors(path: pathlib.Path) -> None:
    """Both readers either succeed or raise ModelFormatError in one line of at most 300 characters;
    anything else fails the test."""
    try:
        net = io.load(path)
    except ModelFormatError as error:
        assert len(str(error)) <= 300 and "\n" not in str(error)
    else:
        assert isinstance(net, Network)
    try:
        meta = io.read_metadata(path)
    except ModelFormatError as error:
        assert len(str(error)) <= 300 and "\n" not in str(error)
    else:
        assert isinstance(meta, dict)


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("bit"), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 16)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=16)),
    st.tuples(
        st.just("splice"), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 64)
    ),
    st.tuples(
        st.just("text"),
        st.integers(0, 10_000),
        st.sampled_from(
            [
                b"0",
                b"9",
                b"-1",
                b'"',
                b"{",
                b"}",
                b"[",
                b"]",
                b",",
                b"1e999",
                b"true",
                b"null",
                b"NaN",
                b"\\u0000",
                b"\xff",
            ]
        ),
    ),
)


def _mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buf = bytearray(data)
    for op, *args in mutations:
        n = max(len(buf), 1)
        if op == "flip":
            if buf:
                buf[args[0] % n] = args[1]
        elif op == "bit":
            if buf:
                buf[args[0] % n] ^= 1 << args[1]
        elif op == "truncate":
            del buf[args[0] % n :]
        elif op == "delete":
            start = args[0] % n
            del buf[start : start + args[1]]
        elif op == "insert":
            pos = args[0] % (len(buf) + 1)
            buf[pos:pos] = args[1]
        elif op == "splice":  # copy a chunk of the file over another place in it
            src, dst, length = args[0] % n, args[1] % n, args[2]
            chunk = bytes(buf[src : src + length])
            buf[dst : dst + len(chunk)] = chunk
        elif op == "text":
            pos = args[0] % (len(buf) + 1)
            buf[pos : pos + len(args[1])] = args[1]
    return bytes(buf)


@settings(max_examples=500, deadline=None)
@given(mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_fuzz_mutated_model_file(fuzz_dir, model_bytes, mutations):
    path = fuzz_dir / "mutated.safetensors"
    path.write_bytes(_mutate(model_bytes, mutations))
    _only_model_format_errors(path)


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.builds(
            lambda n, rest: struct.pack("<Q", n) + rest,
            st.integers(0, 700),
            st.binary(max_size=600),
        ),
    )
)
def test_fuzz_random_bytes(fuzz_dir, data):
    path = fuzz_dir / "random.safetensors"
    path.write_bytes(data)
    _only_model_format_errors(path)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "format_version",
                "sizes",
                "activations",
                "cost",
                "dtype",
                "training",
                "deltaprop_version",
                "other",
            ]
        ),
        st.one_of(
            _json,
            st.lists(st.integers(-1, 4), max_size=4),
            st.lists(st.sampled_from(["sigmoid", "softmax", "relu", "tanh", "bogus"]), max_size=3),
            st.sampled_from(["float32", "float64", "quadratic", "log_likelihood", "cross_entropy"]),
        ),
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["format_version", "sizes", "activations", "cost"]), max_size=1),
)
def test_fuzz_metadata_values(fuzz_dir, model_bytes, changes, drop):
    """Valid safetensors with arbitrary values in the deltaprop metadata."""
    base = fuzz_dir / "base.safetensors"
    tensors = safetensors.numpy.load(model_bytes)
    meta = {**io.read_metadata(base), **changes}
    for key in drop:
        meta.pop(key, None)
    path = write_raw(fuzz_dir / "meta.safetensors", tensors, meta)
    _only_model_format_errors(path)


def test_optimizer_slots_round_trip_and_are_checked(tmp_path):
    net = Network([3, 4, 2], seed=0)
    rng = np.random.default_rng(0)
    params = net.weights + net.biases
    slots = {name: [rng.normal(size=p.shape) for p in params] for name in ("exp_avg", "exp_avg_sq")}
    path = tmp_path / "state.safetensors"
    io.save(net, path, slots=slots)
    _, meta, loaded = io.load_with_metadata(path)
    assert meta["slots"] == ["exp_avg", "exp_avg_sq"]
    for name in slots:
        for got, want in zip(loaded[name], slots[name], strict=True):
            np.testing.assert_array_equal(got, want)
    io.save(net, tmp_path / "plain.safetensors")
    assert io.load_with_metadata(tmp_path / "plain.safetensors")[2] == {}
    bad = {"velocity": [p.T for p in slots["exp_avg"][:2]] + slots["exp_avg"][2:]}
    with pytest.raises(ValueError, match="shape"):
        io.save(net, tmp_path / "bad.safetensors", slots=bad)
    with pytest.raises(ValueError, match="identifiers"):
        io.save(net, tmp_path / "bad.safetensors", slots={"no such": slots["exp_avg"]})
    assert not (tmp_path / "bad.safetensors").exists()


def test_checkpoints_of_version_0_1_0_keep_their_velocities(tmp_path):
    """Files of deltaprop 0.1.0 said "velocities": true and named tensors velocity.layers.*."""
    net = Network([3, 2], seed=0)
    velocity = [np.ones_like(net.weights[0]), np.ones_like(net.biases[0])]
    io.save(net, tmp_path / "new.safetensors", slots={"velocity": velocity})
    tensors = safetensors.numpy.load_file(tmp_path / "new.safetensors")
    meta = io.read_metadata(tmp_path / "new.safetensors")
    del meta["slots"]
    meta["velocities"] = True
    path = write_raw(tmp_path / "old.safetensors", tensors, meta)
    assert io.load_with_metadata(path)[2]["velocity"][0].tolist() == velocity[0].tolist()


# -- limits: JSON, sizes, memory; the reader is deltaprop's own ------------------------------------


def test_json_limits_count_outside_strings_only():
    from deltaprop import limits

    assert limits.json_shape(b'{"a": [1, [2, "[[[[,,,"], {"b": "\\"[{"}]}') == (3, 10)
    assert limits.parse_json('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', "x") == {"a": "[" * 40}
    for text, message in [
        (limits.MAX_JSON_DEPTH * "[" + limits.MAX_JSON_DEPTH * "]", None),
        ((limits.MAX_JSON_DEPTH + 1) * "[" + (limits.MAX_JSON_DEPTH + 1) * "]", "nested 33 deep"),
        ("[" + "0," * limits.MAX_JSON_VALUES + "0]", "holds about 4,000,002 values, more than"),
        ('{"eta": 1e999}', "number 1e999 is too large for a float"),
        ('{"eta": NaN}', "non-standard JSON constant NaN"),
        (b'{"a": "\xff"}', "not UTF-8 text"),
        ("{", "is not valid JSON"),
    ]:
        if message is None:
            limits.parse_json(text, "x")
            continue
        with pytest.raises(ValueError, match=message):
            limits.parse_json(text, "x")
    with pytest.raises(ValueError, match="x is 11 bytes long, more than the limit of 10"):
        limits.parse_json('"abcdefghi"', "x", max_bytes=10)


def test_shortened_values_in_messages():
    from deltaprop.limits import short_list, short_repr, shorten

    assert shorten("x" * 400) == "x" * 297 + "..." and shorten("abc") == "abc"
    assert short_repr(list(range(11))) == "<list of 11 items>" and short_repr([1, 2]) == "[1, 2]"
    assert short_repr("y" * 100) == repr("y" * 100)[:57] + "..."
    assert short_list(range(8), shown=3) == "0, 1, 2 and 5 more"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(training={"eta": 1e308 * 10}), "too large for a float"),
        (lambda m: m.update(extra=json.loads("[" * 40 + "]" * 40)), "nested 41 deep"),
        (lambda m: m.update(extra="x" * 2000), None),  # long strings are fine
    ],
)
def test_metadata_within_the_json_limits(tmp_path, saved, change, message):
    _, tensors, meta = saved
    text = json.dumps(meta)
    change(meta)
    text = json.dumps(meta).replace("Infinity", "1e999")
    path = write_raw(tmp_path / "m.safetensors", tensors, text)
    if message is None:
        assert io.read_metadata(path)["extra"] == "x" * 2000
        return
    with pytest.raises(ModelFormatError, match=message):
        io.load(path)


def test_metadata_longer_than_its_limit_is_refused(tmp_path, saved, monkeypatch):
    from deltaprop import model_format

    path, _, _ = saved
    monkeypatch.setattr(model_format, "MAX_METADATA_BYTES", 100)
    with pytest.raises(ModelFormatError, match=r"bytes long, more than the limit of 100"):
        io.read_metadata(path)


def _entries(path: pathlib.Path) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def test_tensor_data_must_fill_the_file_without_gaps_or_overlaps(tmp_path, saved):
    path, _, _ = saved
    header, body = _entries(path)
    order = sorted((name for name in header if name != "__metadata__"),
                   key=lambda name: header[name]["data_offsets"])
    # the same tensors stored in another order load the same
    moved, position, data = json.loads(json.dumps(header)), 0, b""
    for name in reversed(order):
        begin, end = header[name]["data_offsets"]
        moved[name]["data_offsets"] = [position, position + end - begin]
        position, data = position + end - begin, data + body[begin:end]
    path.write_bytes(raw_file(moved, data))
    reordered = io.load(path)
    path.write_bytes(raw_file(header, body))
    assert _same_parameters(reordered, io.load(path))
    for bad, extra, message in [
        ({order[1]: [8, 8 + 48]}, b"", "lies at bytes \\[8, 56\\) of the data, expected to start at"),
        ({}, b"\x00" * 8, "take 104 bytes, but the file holds 112 after its header"),
        ({order[0]: [0, 56]}, b"", "lies at bytes \\[0, 56\\) of the data, expected to start at 0 and hold"),
    ]:
        changed = json.loads(json.dumps(header))
        for name, offsets in bad.items():
            changed[name]["data_offsets"] = offsets
        path.write_bytes(raw_file(changed, body + extra))
        for read in (io.load, io.read_metadata):
            with pytest.raises(ModelFormatError, match=message):
                read(path)


def _same_parameters(a: Network, b: Network) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(a.weights + a.biases, b.weights + b.biases, strict=True))


def test_loading_never_hands_the_file_to_a_native_parser(saved, monkeypatch):
    path, tensors, _ = saved

    def refuse(*args, **kwargs):
        raise AssertionError("safetensors parsed a file")

    monkeypatch.setattr(safetensors.numpy, "load", refuse)
    monkeypatch.setattr(safetensors.numpy, "load_file", refuse)
    net = io.load(path)
    np.testing.assert_array_equal(net.weights[0], tensors["layers.0.weight"])
    assert net.weights[0].flags.writeable and net.weights[0].flags.owndata


def test_loading_more_than_the_memory_available_is_refused_before_allocating(saved, monkeypatch):
    from deltaprop import limits

    path, _, _ = saved
    monkeypatch.setattr(limits, "available_memory", lambda: 100)
    with pytest.raises(ModelFormatError, match=r"loading its 13 parameters would need 208 bytes of "
                                               r"memory, more than the 100 bytes available"):
        io.load(path)
    assert io.read_metadata(path)["sizes"] == [2, 3, 1]  # the header needs nothing


def test_memory_errors_while_reading_become_one_line(saved, monkeypatch):
    path, _, _ = saved

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(io.np, "empty", no_memory)
    with pytest.raises(ModelFormatError, match="not enough memory to load its 13 parameters"):
        io.load(path)


def test_save_refuses_what_load_would_refuse(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    for extra, message in [
        ({"extra": json.loads("[" * 40 + "]" * 40)}, "nested 41 deep"),
        ({"image_shape": [3, 3]}, "'image_shape' \\[3, 3\\] has 9 pixels, but the network takes 2"),
        ({"data_seed": True}, "'data_seed': expected a valid integer"),
        ({"n_classes": 0}, "'n_classes'"),
    ]:
        with pytest.raises(ValueError, match=message):
            io.save(make_net(), path, extra_metadata=extra)
    with pytest.raises(ValueError, match="1,001 layers, more than the limit of 1,000"):  # now refused
        io.save(Network([1] * 1002, activation="linear"), path)  # when built, before save is reached
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 50)
    with pytest.raises(ValueError, match="more than the limit of 50 bytes that load accepts"):
        io.save(make_net(), path)
    assert not path.exists()


def test_messages_stay_short_whatever_the_file_holds(tmp_path, saved):
    _, tensors, meta = saved
    long = {**meta, "cost": "c" * 10_000, "activations": ["a" * 10_000, "sigmoid"]}
    for i, value in enumerate([long, {**meta, "sizes": [2, 3, 1] * 300}]):
        path = write_raw(tmp_path / f"m{i}.safetensors", tensors, value)
        with pytest.raises(ModelFormatError) as info:
            io.load(path)
        assert len(str(info.value)) <= 300 and str(path)[:50] in str(info.value)
