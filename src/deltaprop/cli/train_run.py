"""Where a ``deltaprop train`` run writes, from its start to its end, so that it leaves either its
complete run directory or nothing, and never loses anything of the user's.

The run directory is written into a hidden folder (``.NAME.PID.XXXXXXXX.tmp``): beside a new
``--out``, renamed to it once everything is written; inside an existing empty ``--out`` (which stays
the same folder: a mount point, the current folder, the target of a symlink), its files then moved
into it, the model last. On any error or Ctrl-C the hidden folder is removed, with the parent
folders made for it; such folders left by a killed run (its PID gone) are removed by the next run.

The checkpoint folder, when this run creates it, carries a marker file, ``.deltaprop-checkpoint``;
the run holds a lock on the marker (``flock``, released by the system when the process dies), so
that a second run is refused. Once the run completes, its automatic checkpoint (``<out>.checkpoint``,
kept with ``--checkpoint-dir``) is removed file by file: the checkpoint and the marker (where the
folder carries it or this run made them), then the folder if that emptied it.

``session`` opens both before training; ``RunDirectory.write`` writes the run's files, stopping between
two files on SIGINT or SIGTERM (``StopOnSignal``: nothing is written to ``--out`` then, and the
checkpoint, which holds the finished run, stays to write it with ``--resume``).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deltaprop._files import (
    current_umask,
    make_temporary_folder,
    remove_known,
    remove_stale_temporaries,
    remove_tree,
)
from deltaprop._signals import StopRequest
from deltaprop.checkpoint import CHECKPOINT_NAME, Checkpoint
from deltaprop.cli._common import PROG, os_problem, shown
from deltaprop.cli.train_output import MODEL_FILE, RUN_FILE_NAMES, FileWriters
from deltaprop.cli.train_plan import MARKER, RunPlan, foreign_entries, lock_marker, marked
from deltaprop.errors import TrainingInterrupted


def _resume_advice(checkpoint: Path) -> str:
    return f"{PROG} train --resume {shown(checkpoint)}"


class StopOnSignal(StopRequest):
    """SIGINT and SIGTERM ask training to stop after its current mini-batch; a second one stops at
    once, saying so. ``signal_number`` remembers the first, for the exit code (128 + signal).

    ``on()`` handles the signals for a block, the previous handlers back after it. ``requested`` is
    the ``should_stop`` of ``fit``.
    """

    def stop_now(self, signal_number: int) -> None:
        print(f"{PROG}: stopped at once; the last checkpoint stays", file=sys.stderr)
        raise SystemExit(128 + signal_number)


class CheckpointWriteError(OSError):
    """A checkpoint could not be saved; the message says where, why, and how to go on."""

    def __init__(self, directory: Path, error: OSError) -> None:
        problem, advice = os_problem(error)
        kept = (directory / CHECKPOINT_NAME).is_file()
        then = f"then resume with: {_resume_advice(directory)}" if kept else "then run again"
        super().__init__(f"saving the checkpoint in {shown(directory)} failed: {problem}; {advice}, {then}")


class RunWriteError(OSError):
    """The run directory could not be written; the message says where, why, and how to go on."""

    def __init__(self, final: Path, name: str, error: OSError, checkpoint: Path) -> None:
        problem, advice = os_problem(error)
        if error.strerror:  # not the hidden temporary folder's name: the file, or the last step
            problem = f"{error.strerror} ({name or 'moving the run into place'})"
        super().__init__(f"writing the run to {shown(final)} failed: {problem}; nothing was written there; "
                         f"{advice}, then write it with: {_resume_advice(checkpoint)}")


class StoppedWhileWriting(Exception):
    """SIGINT or SIGTERM came while the run directory was written: nothing was written."""

    def __init__(self, signal_number: int, final: Path, checkpoint: Path) -> None:
        name = signal.Signals(signal_number).name
        super().__init__(f"stopped by {name} while writing the run; nothing was written to {shown(final)}; "
                         f"the checkpoint stays: write the run with: {_resume_advice(checkpoint)}")
        self.signal_number = signal_number


#: Failures after which the checkpoint stays, to go on with ``--resume``.
RESUMABLE = (TrainingInterrupted, CheckpointWriteError, RunWriteError, StoppedWhileWriting)


class RunCheckpoint(Checkpoint):
    """The store of a ``deltaprop train`` run: saves to ``directory``, resumes from ``source`` (when
    given), and turns a failed save into a ``CheckpointWriteError`` saying what to do."""

    def __init__(self, directory: Path, extra: dict[str, Any], source: Path | None) -> None:
        super().__init__(directory, extra)
        self.source = source

    def save(self, trainer: Any) -> None:
        try:
            super().save(trainer)
        except OSError as error:
            raise CheckpointWriteError(self.directory, error) from error

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The state saved in ``source`` (else in ``directory``)."""
        return Checkpoint(self.source or self.directory).load()


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the folders created, outermost first."""
    missing = list(itertools.takewhile(lambda path: not path.exists(), [folder, *folder.parents]))[::-1]
    for path in missing:
        path.mkdir()
    return missing


def remove_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (outermost first, as ``make_parents`` lists them) where they are empty."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


class CheckpointFolder:
    """The checkpoint folder as one run uses it: what the run created there, and the marker's lock.

    Attributes:
        path: the folder.
        created: the parent folders made for it, outermost first.
        made_here: this run created the folder.
        owned: the folder is deltaprop's (made by this run, or carrying the marker).
        new_checkpoint: no checkpoint was there before this run (any there now is this run's).
    """

    def __init__(self, path: Path, label: str, advice: str) -> None:
        self.path, self.label, self.advice = path, label, advice
        self.created: list[Path] = []
        self.made_here = False
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
            self.owned = self.made_here or marked(self.path)
            if self.owned:
                self.lock = lock_marker(self.path, self.label, self.advice)
        except BaseException:
            remove_folders(self.created)
            raise
        self.new_checkpoint = not (self.path / CHECKPOINT_NAME).exists()
        remove_stale_temporaries(self.path)

    def _create_marked(self) -> None:
        """The folder, made with its marker inside in one rename: no other run sees it unmarked."""
        temporary = make_temporary_folder(self.path.parent, self.path.name)
        try:
            (temporary / MARKER).write_text(f"{PROG} checkpoint folder, used by pid {os.getpid()}\n")
            os.chmod(temporary, 0o777 & ~current_umask())
            os.rename(temporary, self.path)
            self.made_here = True
        except OSError:
            remove_tree(temporary)
            if not marked(self.path):  # else another run made it first: its lock decides
                raise

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
                remove_folders(self.created)
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
        ours = [CHECKPOINT_NAME] if self.owned or self.new_checkpoint else []
        self._clear([MARKER, *ours] if self.owned else ours)

    def abandon(self, resumable: bool) -> None:
        """After a failure: keep any checkpoint when the run can be resumed from it; otherwise remove
        what this run made here (its checkpoint, the folder it created), never an earlier one."""
        if (self.path / CHECKPOINT_NAME).is_file() and (resumable or not self.new_checkpoint):
            self.release()
            return
        names = [CHECKPOINT_NAME] if self.new_checkpoint else []
        self._clear(names + ([MARKER] if self.made_here else []))


class RunDirectory:
    """The temporary folder a run is written into, and how it is put in place.

    ``inside``: the temporary folder is inside ``final`` (an existing empty folder), else beside it.
    ``saved_to`` is where the run went: ``final``, or (``--out`` having been taken meanwhile by
    another run, ``taken`` then True) a free sibling NAME-2, NAME-3, ...
    """

    def __init__(self, final: Path, workdir: Path, inside: bool) -> None:
        self.final, self.workdir, self.inside = final, workdir, inside
        self.saved_to: Path | None = None
        self.taken = False

    def write(self, files: FileWriters, stop: StopRequest, checkpoint: Path) -> list[str]:
        """Write ``files`` into the folder, in their order, and put it in place; returns their names.
        Stops between two files when ``stop`` was signalled; the errors name ``checkpoint``, the
        folder to write the run from with ``--resume``."""
        name = ""
        try:
            for name in [*files, ""]:  # each file, then "": putting the folder in place
                if stop.signal_number is not None:
                    raise StoppedWhileWriting(stop.signal_number, self.final, checkpoint)
                if name:
                    files[name](self.workdir / name)
            self.commit()
        except OSError as error:
            raise RunWriteError(self.final, name, error, checkpoint) from error
        return list(files)

    def commit(self) -> None:
        """Put the written run in place, at ``saved_to``: move its files into ``final`` (``inside``)
        or rename the folder to it; beside it when another run (or someone) wrote ``final`` while
        this one trained."""
        if self.inside and not foreign_entries(self.final, self.workdir.name):
            self._move_files_in()
            self.saved_to = self.final
            return
        os.chmod(self.workdir, 0o777 & ~current_umask())  # mkdtemp makes it 0700
        if not self.inside:
            try:
                os.rename(self.workdir, self.final)
                self.saved_to = self.final
                return
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    raise
        self.taken = True  # beside it: the first of NAME-2, NAME-3, ... not there (not even as a link)
        siblings = (self.final.with_name(f"{self.final.name}-{n}") for n in itertools.count(2))
        sibling = next(path for path in siblings if not os.path.lexists(path))
        os.rename(self.workdir, sibling)
        self.saved_to = sibling

    def _move_files_in(self) -> None:
        """Move the files into ``final``, the model last (a reader that sees it sees the whole run);
        on failure, the ones moved go again."""
        names = sorted(os.listdir(self.workdir), key=lambda name: name == MODEL_FILE)
        moved: list[str] = []
        try:
            for name in names:
                os.rename(self.workdir / name, self.final / name)
                moved.append(name)
            self.workdir.rmdir()
        except BaseException:
            for name in moved:
                with contextlib.suppress(OSError):
                    os.unlink(self.final / name)
            raise


@contextlib.contextmanager
def session(plan: RunPlan) -> Iterator[RunDirectory]:
    """The run directory of ``plan``, its checkpoint folder open (locked) meanwhile, for one run.

    The run is written into a hidden temporary folder, inside ``plan.out`` when that is an existing
    folder, else beside it; ``write()`` fills it and puts it in place. The parent folders are made,
    and the dead runs' temporary folders removed, on entry. On any error or Ctrl-C before the run is
    in place, the temporary folder is removed, together with the parent folders made for it, so no
    half-written run directory is ever left behind. On success the automatic checkpoint goes (unless
    ``plan.keep_checkpoints``); on a failure it stays when the run can go on from it (a stop, a
    failed write), otherwise what this run made goes.
    """
    final = plan.out
    created = make_parents(final.parent)
    inside = final.is_dir()
    where = final if inside else final.parent
    remove_stale_temporaries(where, RUN_FILE_NAMES)
    try:
        run = RunDirectory(final, make_temporary_folder(where, final.name), inside)
    except BaseException:
        remove_folders(created)
        raise
    checkpoints = CheckpointFolder(plan.checkpoint_dir, plan.checkpoint_label, plan.checkpoint_advice)
    try:
        checkpoints.open()
        try:
            yield run
        except BaseException as error:
            resumable = isinstance(error, RESUMABLE) or not isinstance(error, Exception)
            checkpoints.abandon(resumable or plan.keep_checkpoints)
            raise
        if run.saved_to is None:
            checkpoints.abandon(True)
        else:
            checkpoints.finish(keep=plan.keep_checkpoints)
    finally:
        if run.saved_to is None:
            remove_tree(run.workdir)
            remove_folders(created)
