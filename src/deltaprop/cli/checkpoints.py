"""The checkpoint folder of ``deltaprop train``: checked before training, marked as deltaprop's, locked
while a run uses it, and cleaned up without touching anything that is not deltaprop's.

A folder ``deltaprop train`` creates for checkpoints carries a marker file, ``.deltaprop-checkpoint``;
the run using it holds a lock on the marker (``flock``, released by the system when the process dies)
so that a second run is refused at its start. Once a run completes, its automatic checkpoint
(``<out>.checkpoint``, kept with ``--checkpoint-dir``) is removed file by file: the checkpoint and the
marker (where the folder carries it or this run made them), then the folder if that emptied it. A
folder that holds anything else keeps it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from deltaprop._files import (
    current_umask,
    make_temporary_folder,
    remove_known,
    remove_stale_temporaries,
    remove_tree,
    stale_temporaries,
)
from deltaprop.checkpoint import CHECKPOINT_NAME, Checkpoint
from deltaprop.cli._common import PROG, os_problem, shown
from deltaprop.cli.rundir import OutputError, check_creatable, folder_entries, make_parents, remove_folders

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no locking
    fcntl = None  # type: ignore[assignment]

MARKER = ".deltaprop-checkpoint"


class CheckpointWriteError(OSError):
    """A checkpoint could not be saved; the message says where, why, and how to go on."""

    def __init__(self, directory: Path, error: OSError) -> None:
        problem, todo = os_problem(error)
        kept = (directory / CHECKPOINT_NAME).is_file()
        then = (f"then resume with: {PROG} train --resume {shown(directory)}" if kept
                else "then run again")
        super().__init__(f"saving the checkpoint in {shown(directory)} failed: {problem}; {todo}, "
                         f"{then}")
        self.resumable = kept

    def __str__(self) -> str:
        return str(self.args[0])


class RunCheckpoint(Checkpoint):
    """The store of a ``deltaprop train`` run: saves to ``directory``, resumes from ``source`` (when
    given), and turns a failed save into a ``CheckpointWriteError`` saying what to do."""

    def __init__(self, directory: str | os.PathLike[str], extra: dict[str, Any] | None = None,
                 source: str | os.PathLike[str] | None = None) -> None:
        super().__init__(directory, extra)
        self.source = None if source is None else Path(source)

    def save(self, trainer: Any) -> None:
        try:
            super().save(trainer)
        except OSError as error:
            raise CheckpointWriteError(self.directory, error) from error

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The state saved in ``source`` (else in ``directory``)."""
        return Checkpoint(self.source or self.directory).load()


def _marked(folder: Path) -> bool:
    return (folder / MARKER).is_file() and not (folder / MARKER).is_symlink()


def holder(folder: Path) -> int | None:
    """The PID of the live process whose run uses ``folder`` (holds its marker's lock), or None."""
    if fcntl is None or not _marked(folder):
        return None
    try:
        fd = os.open(folder / MARKER, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        text = os.read(fd, 64).decode(errors="replace").split()
        os.close(fd)
        return int(text[-1]) if text and text[-1].isdigit() else -1
    os.close(fd)
    return None


def in_use_message(label: str, pid: int, todo: str) -> str:
    who = f"pid {pid}" if pid > 0 else "another process"
    return f"{label} is in use by another {PROG} train run ({who}); wait for it to end, or {todo}"


def check_checkpoint_dir(path: Path, label: str, todo: str, *, source: Path | None,
                         final: Path) -> None:
    """Before training: ``path`` can take this run's checkpoints. It is the resumed folder, or a
    new folder, or an empty one (deltaprop's marker and dead runs' temporary files aside)."""
    if path == final or final in path.parents:
        raise OutputError(f"{label} is inside --out {shown(final)}; checkpoints go elsewhere: {todo}")
    if not path.exists():
        check_creatable(path, label)
        return
    if not path.is_dir():
        raise OutputError(f"{label} is a file; expected a folder for the checkpoints: {todo}")
    pid = holder(path)
    if pid is not None:
        raise OutputError(in_use_message(label, pid, todo))
    if path != source:
        stale = {p.name for p in stale_temporaries(path)}
        names = set(folder_entries(path)) - stale - {MARKER}
        if CHECKPOINT_NAME in names:
            raise OutputError(f"{label} holds the checkpoint of another run: resume that run "
                              f"(--resume with this folder), or remove it, or {todo}")
        if names:
            raise OutputError(f"{label} already holds files that are not {PROG}'s; checkpoints go to "
                              f"a new or empty folder: {todo}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{label} is not writable; fix its permissions, or {todo}")


class CheckpointFolder:
    """The checkpoint folder as one run uses it: what the run created there, and the marker's lock.

    Attributes:
        path: the folder.
        created: the folders made for it (the folder itself last, when made), outermost first.
        owned: the folder is deltaprop's (made by this run, or carrying the marker).
        new_checkpoint: no checkpoint was there before this run (any there now is this run's).
    """

    def __init__(self, path: Path, label: str, todo: str) -> None:
        self.path, self.label, self.todo = path, label, todo
        self.created: list[Path] = []
        self.owned = False
        self.new_checkpoint = False
        self.lock: int | None = None

    def open(self) -> None:
        """Create the folder (with its marker) when missing, take the marker's lock, and remove the
        temporary files of dead runs from it. On failure, the folders made for it go again."""
        try:
            if not self.path.exists():
                self.created = make_parents(self.path.parent)
                self._create_marked()
            self.owned = self.made_here or _marked(self.path)
            if self.owned:
                self._lock()
        except BaseException:
            remove_folders(self.created)
            raise
        self.new_checkpoint = not (self.path / CHECKPOINT_NAME).exists()
        remove_stale_temporaries(self.path)

    @property
    def made_here(self) -> bool:
        """Whether this run created the folder."""
        return bool(self.created) and self.created[-1] == self.path

    def _create_marked(self) -> None:
        """The folder, made with its marker inside in one rename: no other run sees it unmarked."""
        temporary = make_temporary_folder(self.path.parent, self.path.name)
        try:
            (temporary / MARKER).write_text(f"{PROG} checkpoint folder, used by pid {os.getpid()}\n")
            os.chmod(temporary, 0o777 & ~current_umask())
            os.rename(temporary, self.path)
        except OSError:
            remove_tree(temporary)
            if not _marked(self.path):
                raise
            return  # another run made it first: its lock decides
        self.created.append(self.path)

    def _lock(self) -> None:
        if fcntl is None:
            return
        fd = os.open(self.path / MARKER, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(in_use_message(self.label, holder(self.path) or -1, self.todo)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{PROG} checkpoint folder, used by pid {os.getpid()}\n".encode())
        self.lock = fd

    def release(self) -> None:
        """Let go of the marker's lock."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock)
            self.lock = None

    def _clear(self, names: list[str]) -> None:
        """Let go of the lock, remove ``names`` from the folder, then (when it is deltaprop's) the
        folder and the folders made for it, where that emptied them."""
        self.release()
        if self.owned:
            if remove_known(self.path, names):
                remove_folders([p for p in self.created if p != self.path])
            return
        for name in names:
            with contextlib.suppress(OSError):
                (self.path / name).unlink()

    def finish(self, keep: bool) -> None:
        """After a completed run: unless ``keep``, remove the checkpoint (where it is this run's or
        the folder deltaprop's), the marker, and the folder where that emptied it."""
        if keep:
            self.release()
            return
        names = [MARKER] if self.owned else []
        if self.owned or self.new_checkpoint:
            names.append(CHECKPOINT_NAME)
        self._clear(names)

    def abandon(self, resumable: bool) -> None:
        """After a failure: keep any checkpoint when the run can be resumed from it; otherwise remove
        what this run made here (its checkpoint, the folder it created), never an earlier one."""
        made_here = self.made_here
        has_checkpoint = (self.path / CHECKPOINT_NAME).is_file()
        if has_checkpoint and (resumable or not self.new_checkpoint):
            self.release()
            return
        names = [CHECKPOINT_NAME] if self.new_checkpoint else []
        self._clear(names + ([MARKER] if made_here else []))
