"""The hostile suite's one way to run a command: ``deltaprop ARGS`` in a subprocess with a bounded
address space (``RLIMIT_AS``) and time, and the checks every hostile case makes of what came out.

``run(argv, cwd)`` returns an ``Outcome``; ``outcome.check(status)`` asserts the exit status, at most
3 lines on stderr, no traceback, no Python warning, no escape sequence or other control character on
stdout or stderr, and (``secrets``) none of the given strings anywhere in the output. ``digest(tree)``
hashes every file below a folder, to assert that the user's files are unchanged; ``files_holding``
finds the files below a folder that hold a secret. ``SWEEP_SPACE`` is the sweep tests' space (the
digits, 1 epoch: a trial takes a fraction of a second), ``write_space`` writes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 2 * 2**30
SECONDS = 60
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
       "COLUMNS": "120"}
ENV.pop("DELTAPROP_DEBUG", None)
#: C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Outcome:
    """What a command did: its exit status, its stdout and stderr (text), its wall time."""

    status: int
    out: str
    err: str
    seconds: float

    def check(self, status: int, secrets: tuple[str, ...] = (), max_seconds: float = SECONDS) -> None:
        """The hostile suite's assertions (see the module docstring)."""
        lines = self.err.splitlines()
        assert self.status == status, (self.status, self.err[-2000:])
        assert len(lines) <= 3, self.err[-2000:]
        assert "Traceback" not in self.err and "Warning:" not in self.err, self.err[-2000:]
        for name, text in (("stdout", self.out), ("stderr", self.err)):
            found = CONTROL.search(text)
            assert found is None, f"{name} holds {found.group()!r}: {text[-500:]!r}"
            for secret in secrets:
                assert secret not in text, f"{name} shows the secret {secret!r}"
        assert self.seconds < max_seconds


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run(argv: list[str], cwd: Path, address_space: bool = True, timeout: float = SECONDS) -> Outcome:
    """``deltaprop *argv`` in ``cwd``, its address space limited to ``ADDRESS_SPACE``."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "deltaprop", *map(str, argv)], cwd=cwd, env=ENV,
                            preexec_fn=_limit_memory if address_space else None, capture_output=True,
                            text=True, errors="backslashreplace", timeout=timeout)
    return Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def digest(tree: Path) -> dict[str, str]:
    """Every file below ``tree`` (relative path) -> its BLAKE2b digest."""
    return {str(path.relative_to(tree)): hashlib.blake2b(path.read_bytes()).hexdigest()
            for path in sorted(tree.rglob("*")) if path.is_file()}


def files_holding(tree: Path, *secrets: str) -> list[str]:
    """The files below ``tree`` (relative paths) that hold any of ``secrets``, in any case."""
    wanted = [secret.lower().encode() for secret in secrets]
    return [str(path.relative_to(tree)) for path in sorted(tree.rglob("*"))
            if path.is_file() and any(secret in path.read_bytes().lower() for secret in wanted)]


SWEEP_SPACE = """[data]
subset = 100
[fixed]
epochs = 1
hidden = [5]
[search]
eta = { low = 0.1, high = 3.0, log = true }
"""


def write_space(folder: Path, text: str = SWEEP_SPACE) -> Path:
    """``folder/space.toml`` holding ``text`` (the sweep tests' space by default); its path."""
    path = folder / "space.toml"
    path.write_text(text)
    return path


def bench_module(name: str) -> ModuleType:
    """``bench/NAME.py``, imported (bench/ holds scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
