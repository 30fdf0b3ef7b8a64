"""The run directory of ``deltaprop train``: planned up front, written under a temporary name, renamed.

A run directory is either complete or absent: the files go into a hidden sibling
(``.NAME.XXXX.tmp``) that is renamed to its final name once everything is written; on any error or
Ctrl-C it is removed, together with the parent folders made for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from deltaprop._files import current_umask

RUNS_FOLDER = Path("runs")


def plan_run_directory(out: str | None) -> Path:
    """Where the run goes: ``--out`` (absent or an empty folder), else a new runs/<timestamp>."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path, n = RUNS_FOLDER / stamp, 1
        while path.exists():
            path, n = RUNS_FOLDER / f"{stamp}-{n}", n + 1
        return path
    path = Path(out).expanduser()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ValueError(f"--out {out} exists and is not a directory")
        if any(path.iterdir()):
            raise ValueError(f"--out {out} exists and is not empty; choose a new directory")
    return path


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the folders created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def remove_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (outermost first, as ``make_parents`` lists them) where they are empty."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def run_directory(final: Path) -> Iterator[Path]:
    """A hidden temporary sibling of ``final`` to write the run into.

    On success it is renamed to ``final``; on any error or Ctrl-C it is removed, together with the
    parent folders made for it, so no half-written run directory is ever left behind.
    """
    created = make_parents(final.absolute().parent)
    try:
        workdir = Path(tempfile.mkdtemp(dir=final.absolute().parent, prefix=f".{final.name}.",
                                        suffix=".tmp"))
    except BaseException:
        remove_folders(created)
        raise
    try:
        yield workdir
        os.chmod(workdir, 0o777 & ~current_umask())  # mkdtemp makes it 0700
        if final.is_dir() and not any(final.iterdir()):
            final.rmdir()  # an empty --out; os.rename cannot replace a folder everywhere
        os.rename(workdir, final)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        remove_folders(created)
        raise
