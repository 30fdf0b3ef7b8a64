"""Helpers shared by the tests of deltaprop.datasets: small IDX folders, a guard against hangs, and
the byte-level mutations the fuzz tests start from."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import struct
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from deltaprop.datasets import IDX_FILES, write_idx

#: The official MNIST files, where the test machines keep them (tests that need them skip without).
SHARED_MNIST = Path(__file__).parents[2] / "../shared/data/mnist"
IDX_DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]
FUZZ = settings(  # DELTAPROP_FUZZ_EXAMPLES=20000 for a deeper (slower) run
    max_examples=int(os.environ.get("DELTAPROP_FUZZ_EXAMPLES", "500")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def no_hang(seconds: float):
    """Raise TimeoutError (instead of hanging) if the block runs longer, where SIGALRM exists."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"ran longer than {seconds} s: something hangs")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def idx_bytes(array: np.ndarray, tmp_path: Path, gz: bool = False) -> bytes:
    path = tmp_path / ("scratch.idx.gz" if gz else "scratch.idx")
    write_idx(path, array)
    data = path.read_bytes()
    path.unlink()
    return data


def make_idx_dir(
    folder: Path, n_train: int = 12, n_test: int = 6, gz: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    """Four small MNIST-like files (28x28 uint8 images, labels 0..9) in ``folder``."""
    rng = np.random.default_rng(seed)
    arrays = {
        IDX_FILES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        IDX_FILES[1]: (np.arange(n_train) % 10).astype(np.uint8),
        IDX_FILES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        IDX_FILES[3]: (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


def zip_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def npy(header: str, body: bytes = b"") -> bytes:
    """A version 1.0 .npy file with the given header dict text (not checked) and body."""
    text = header.encode("latin1")
    padding = 64 - (10 + len(text) + 1) % 64
    text += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body


def npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """One of ``seeds`` with one to four bytes flipped, set, inserted or deleted, or cut short."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
    return bytes(data)


#: .npy headers with valid, odd and invalid dtypes and shapes, followed by a few bytes.
npy_headers = st.builds(
    lambda descr, shape, body: npy(
        f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {tuple(shape)!r}, }}", body
    ),
    st.sampled_from(["<f8", "|u1", "<i8", "|O", "<c16", "V8", "<U3", ">f4", "|b1", "nope"]),
    st.lists(st.integers(-3, 2**40), max_size=3),
    st.binary(max_size=48),
)
#: Text made of the characters CSV files of numbers (and their mistakes) are made of.
csv_texts = st.text(alphabet="0123456789.,-+eE\n\r \"\tlabenif\x00;", max_size=120)
