"""Writing files so that neither a reader nor a crash ever sees half of one, and cleaning up after
a crash without touching anything that is not deltaprop's.

Temporary names: everything deltaprop writes under a temporary name is called
``.NAME.PID.XXXXXXXX.tmp`` (hidden, beside or for ``NAME``; ``PID`` the writing process,
``XXXXXXXX`` random), so that a later run can tell its own leftovers from anything else, and a
leftover of a process that is gone (killed by SIGKILL, a power cut) from one still being written.
``stale_temporaries`` lists the first kind; ``remove_stale_temporaries`` removes them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

#: A temporary name of deltaprop's: ``.NAME.PID.XXXXXXXX.tmp`` (tempfile's 8 random characters).
TEMPORARY_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[1-9][0-9]{0,9})\.[a-z0-9_]{8}\.tmp$")


def current_umask() -> int:
    """The process's file-creation mask (read by setting it, then setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_prefix(name: str) -> str:
    """The start of a temporary name for ``name`` written by this process: ``.NAME.PID.``."""
    return f".{name}.{os.getpid()}."


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (conservatively True when that cannot be told)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # another user's process, or a platform that cannot say: leave it alone
    return True


def _left_over(name: str, own_too: bool = False) -> bool:
    """Whether ``name`` is a temporary name of a process that is gone (or, ``own_too``, of this one)."""
    match = TEMPORARY_NAME.match(name)
    return bool(match) and ((own_too and int(match["pid"]) == os.getpid())
                            or not process_alive(int(match["pid"])))


def stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """deltaprop's temporary files and folders in ``folder`` whose writing process is gone."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(entry.path) for entry in entries if _left_over(entry.name) and not entry.is_symlink())


def remove_known(folder: Path, names: Iterable[str]) -> bool:
    """Remove the files ``names`` from ``folder`` (and the temporary files left there by this process
    or by dead ones), one by one, then ``folder`` itself if that emptied it; returns whether the
    folder is gone.

    Nothing else is ever removed: a folder that also holds anything else stays, with it.
    """
    known = set(names)
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if (entry.name in known or _left_over(entry.name, own_too=True)) and (
                    entry.is_symlink() or not entry.is_dir()):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str], contents: Iterable[str] = ()) -> None:
    """Remove the temporaries of dead processes from ``folder``: files, and folders holding only
    ``contents`` (the names deltaprop writes into such a folder) and temporary files (best effort)."""
    names = list(contents)
    for path in stale_temporaries(folder):
        with contextlib.suppress(OSError):
            if path.is_dir():
                remove_known(path, names)
            else:
                path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable where the platform allows it (best effort)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _naming(error: OSError, target: Path) -> OSError:
    """``error`` as it concerns ``target``: an error about nothing (ENOSPC on write) or about the
    temporary file names ``target`` instead, so that messages say which file could not be written."""
    about = None if error.filename is None else Path(os.fsdecode(error.filename))
    temporary = about is not None and about.parent == target.parent and bool(
        TEMPORARY_NAME.match(about.name))
    if error.errno is None or not (about is None or temporary):
        return error
    named = OSError(error.errno, error.strerror or os.strerror(error.errno), str(target))
    named.__cause__ = error
    return named


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A temporary file beside ``path``, open for writing and reading back ("w+b").

    When the block ends without error the file is flushed and fsync'ed, given the mode of the file
    it replaces (or the usual mode of a new file), renamed onto ``path`` and the rename made durable;
    ``path`` holds either its old content or all of the new. On any error, Ctrl-C included, the
    temporary file (``.NAME.PID.XXXXXXXX.tmp``) is removed and ``path`` is untouched; an OSError
    that names no file (a full disk) or the temporary one is raised naming ``path``.
    """
    target = Path(os.fspath(path))
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=temporary_prefix(target.name),
                                    suffix=".tmp")
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
    except BaseException as error:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        if isinstance(error, OSError):
            named = _naming(error, target)
            if named is not error:
                raise named from error
        raise
    _fsync_folder(target.parent)


def make_temporary_folder(parent: Path, name: str) -> Path:
    """A new folder ``parent/.NAME.PID.XXXXXXXX.tmp`` (mode 0700)."""
    return Path(tempfile.mkdtemp(dir=parent, prefix=temporary_prefix(name), suffix=".tmp"))


def remove_tree(path: Path) -> None:
    """Remove a folder this process made (a temporary one), whatever it holds (best effort)."""
    shutil.rmtree(path, ignore_errors=True)


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays unwrapped, NaN/inf as null, paths as strings."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_json(path: Path, value: Any) -> None:
    """``value`` as indented JSON in ``path`` (NaN and infinities as null)."""
    path.write_text(json.dumps(jsonable(value), indent=2, allow_nan=False) + "\n", encoding="utf-8")
