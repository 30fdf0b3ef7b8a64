"""Fixtures of the sweep tests: tiny spaces on the bundled digits, a throwaway PostgreSQL server."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.hostile.harness import write_space

#: Two epochs of a [64, 10, 10] network on the digits: a trial takes a few hundredths of a second.
TINY = {
    "fixed": {"epochs": 2, "hidden": [10]},
    "search": {"eta": {"low": 0.1, "high": 5.0, "log": True}, "lmbda": {"low": 0.0, "high": 1.0}},
}


def slow_space(epochs: int = 400) -> dict:
    """The tiny space with many epochs: a trial takes several seconds (to be stopped mid-trial)."""
    return {**TINY, "fixed": {**TINY["fixed"], "epochs": epochs}}


@pytest.fixture()
def tiny() -> dict:
    return {section: dict(table) for section, table in TINY.items()}


@pytest.fixture()
def space_toml(tmp_path) -> Path:
    """``tmp_path/space.toml``: the hostile suite's sweep space (the digits' first 100 rows, 1 epoch)."""
    return write_space(tmp_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    """initdb refuses root: as root, run the server's commands as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgresql_url():
    """A throwaway PostgreSQL server from Debian's package on 127.0.0.1 (trust auth): its URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin; "
                    ".ci/run installs the postgresql package)")
    bin_dir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="deltaprop-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                 "-U", "postgres", "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
    ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", options]
    subprocess.run(_as_postgres([*ctl, "-w", "start"]), check=True, capture_output=True, timeout=60)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(_as_postgres([*ctl[:3], "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60)
        time.sleep(0.2)
        shutil.rmtree(base, ignore_errors=True)
