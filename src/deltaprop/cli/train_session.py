"""Where a ``deltaprop train`` run writes, from its start to its end: the run directory (written under
a temporary name, renamed) and the checkpoint folder (created and locked before training, cleaned up
after), so that the run leaves either its complete run directory or nothing, and never loses
anything of the user's.

``session`` opens both before training; ``Session.write`` writes the run's files, stopping between
two files on SIGINT or SIGTERM (nothing is written to ``--out`` then, and the checkpoint, which holds
the finished run, stays to write it with ``--resume``), and renames the folder into place.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

from deltaprop.cli._common import PROG, os_problem, shown
from deltaprop.cli.checkpoints import CheckpointFolder, CheckpointWriteError
from deltaprop.cli.rundir import RunDirectory, run_directory
from deltaprop.cli.signals import StopOnSignal
from deltaprop.errors import TrainingInterrupted

WriteFiles = Callable[[Path, Callable[[str], None]], list[str]]


def _resume_advice(checkpoint: Path) -> str:
    return f"{PROG} train --resume {shown(checkpoint)}"


class RunWriteError(OSError):
    """The run directory could not be written; the message says where, why, and how to go on."""

    def __init__(self, final: Path, name: str, error: OSError, checkpoint: Path) -> None:
        problem, todo = os_problem(error)
        if error.strerror:  # not the hidden temporary folder's name: the file, or the last step
            problem = f"{error.strerror} ({name or 'moving the run into place'})"
        super().__init__(f"writing the run to {shown(final)} failed: {problem}; nothing was written there; "
                         f"{todo}, then write it with: {_resume_advice(checkpoint)}")

    def __str__(self) -> str:
        return str(self.args[0])


class StoppedWhileWriting(Exception):
    """SIGINT or SIGTERM came while the run directory was written: nothing was written."""

    def __init__(self, signal_number: int, final: Path, checkpoint: Path) -> None:
        name = signal.Signals(signal_number).name
        super().__init__(f"stopped by {name} while writing the run; nothing was written to {shown(final)}; "
                         f"the checkpoint stays: write the run with: {_resume_advice(checkpoint)}")
        self.signal_number = signal_number


#: Failures after which the checkpoint stays, to go on with ``--resume``.
RESUMABLE = (TrainingInterrupted, CheckpointWriteError, RunWriteError, StoppedWhileWriting)


class Session:
    """The run directory being written and the checkpoint folder in use."""

    def __init__(self, run: RunDirectory, checkpoints: CheckpointFolder) -> None:
        self.run, self.checkpoints = run, checkpoints

    def write(self, write_files: WriteFiles, stop: StopOnSignal) -> list[str]:
        """Write the files (``write_files(folder, before_each)``) and rename the folder into place;
        returns the file names. Stops between two files when ``stop`` was signalled."""
        final, current = self.run.final, [""]

        def before_each(name: str) -> None:
            if stop.signal_number is not None:
                raise StoppedWhileWriting(stop.signal_number, final, self.checkpoints.path)
            current[0] = name

        try:
            files = write_files(self.run.workdir, before_each)
            before_each("")
            self.run.commit()
        except OSError as error:
            raise RunWriteError(final, current[0], error, self.checkpoints.path) from error
        return files


@contextlib.contextmanager
def session(args: argparse.Namespace, final: Path, label: str, todo: str) -> Iterator[Session]:
    """The run directory and the checkpoint folder (``args.checkpoint_dir``), for one run.

    On success the automatic checkpoint goes (unless ``args.keep_checkpoints``); on a failure it
    stays when the run can go on from it (a stop, a failed write), otherwise what this run made goes.
    """
    with run_directory(final) as run:
        checkpoints = CheckpointFolder(Path(args.checkpoint_dir), label, todo)
        checkpoints.open()
        try:
            yield Session(run, checkpoints)
        except BaseException as error:
            resumable = isinstance(error, RESUMABLE) or not isinstance(error, Exception)
            checkpoints.abandon(resumable or bool(args.keep_checkpoints))
            raise
        if run.saved_to is None:
            checkpoints.abandon(True)
        else:
            checkpoints.finish(keep=bool(args.keep_checkpoints))
