"""Writing files so that neither a reader nor a crash ever sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def current_umask() -> int:
    """The process's file-creation mask (read by setting it, then setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable where the platform allows it (best effort)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A temporary file beside ``path``, open for writing and reading back ("w+b").

    When the block ends without error the file is flushed and fsync'ed, given the mode of the file
    it replaces (or the usual mode of a new file), renamed onto ``path`` and the rename made durable;
    ``path`` holds either its old content or all of the new. On any error, Ctrl-C included, the
    temporary file is removed and ``path`` is untouched.
    """
    target = Path(os.fspath(path))
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        try:
            mode = os.stat(target).st_mode & 0o777
        except OSError:
            mode = 0o666 & ~current_umask()  # mkstemp makes the file 0600
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(target.parent)
