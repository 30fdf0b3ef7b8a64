"""The run directory of ``deltaprop train``: checked up front, written under a temporary name, then
put in place.

A run directory is either complete or absent. Before training, ``plan_run_directory`` checks that
``--out`` can be written (new, or an empty folder, or a symlink to either; the folder to write in
writable), so that a finished run is never lost at the end. The files go into a hidden folder
(``.NAME.PID.XXXXXXXX.tmp``): beside a new ``--out``, renamed to it once everything is written; inside
an existing empty ``--out`` (which stays the same folder: a mount point, the current folder, the
target of a symlink), its files then moved into it, the model last. On any error or Ctrl-C the
hidden folder is removed, together with the parent folders made for it. Such folders left by a
killed run (their PID is gone) are removed by the next run there.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from deltaprop._files import (
    current_umask,
    make_temporary_folder,
    remove_stale_temporaries,
    remove_tree,
    stale_temporaries,
)
from deltaprop.cli._common import shown
from deltaprop.cli.train_output import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, PLOT_FILES
from deltaprop.recording import SNAPSHOT_FILE

RUNS_FOLDER = Path("runs")
#: What a run directory may hold: the names ``write_run`` writes.
RUN_FILE_NAMES = (MODEL_FILE, HISTORY_FILE, CONFIG_FILE, SNAPSHOT_FILE, *PLOT_FILES.values())


class OutputError(ValueError):
    """An output location that cannot be used; the message names the option and what to do."""


def real_path(text: str | os.PathLike[str]) -> Path:
    """``text`` with ``~`` expanded, made absolute, symlinks followed (a link to a folder is that
    folder); raises OutputError for a symlink loop."""
    try:
        return Path(os.path.realpath(os.path.expanduser(os.fspath(text)), strict=False))
    except (OSError, RuntimeError) as error:
        raise OutputError(f"{text}: cannot follow its symlinks ({error})") from None


def check_creatable(path: Path, option: str) -> None:
    """``path`` (absent) can be made: its nearest existing ancestor is a writable folder."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{option} {shown(path)}: {shown(ancestor)} is a file, so no folder can be "
                          f"made in it; choose another {option}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {shown(path)}: the folder {shown(ancestor)} is not writable; "
                          f"choose another {option} or fix its permissions")


def folder_entries(path: Path) -> list[str]:
    """The names in folder ``path`` (an OutputError naming it when it cannot be read)."""
    try:
        return os.listdir(path)
    except OSError as error:
        raise OutputError(f"{path}: cannot read the folder: {error.strerror}") from None


def plan_run_directory(out: str | None) -> Path:
    """Where the run goes, absolute: ``--out`` (absent, an empty folder, or a symlink to either),
    else a new runs/<timestamp>. Raises OutputError, naming --out and what to do, otherwise."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path, n = real_path(RUNS_FOLDER / stamp), 1
        while path.exists() or path.with_name(path.name + ".checkpoint").exists():
            path, n = real_path(RUNS_FOLDER / f"{stamp}-{n}"), n + 1
        check_creatable(path, "the runs folder")
        return path
    path = real_path(out)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"--out {shown(path)} is a file; expected a new or empty folder for the run: "
                              f"choose another --out")
        if foreign_entries(path):
            raise OutputError(f"--out {shown(path)} is a folder that already holds files; a run is written "
                              f"only to a new or empty folder: choose another --out")
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(f"--out {shown(path)} is not writable; choose another --out or fix its "
                              f"permissions")
    else:
        check_creatable(path, "--out")
    return path


def foreign_entries(folder: Path, *ours: str) -> list[str]:
    """What ``folder`` holds but ``ours`` and the temporary names of dead processes."""
    stale = {p.name for p in stale_temporaries(folder)}
    return sorted(set(folder_entries(folder)) - stale - set(ours))


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


def free_sibling(final: Path) -> Path:
    """The first of NAME-2, NAME-3, ... beside ``final`` that does not exist."""
    n = 2
    while final.with_name(f"{final.name}-{n}").exists() or final.with_name(
            f"{final.name}-{n}").is_symlink():
        n += 1
    return final.with_name(f"{final.name}-{n}")


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

    def commit(self) -> Path:
        """Put the written run in place: rename the folder to ``final``, or move its files in."""
        if self.inside:
            if foreign_entries(self.final, self.workdir.name):
                return self._elsewhere()
            self._move_files_in()
            self.saved_to = self.final
            return self.final
        os.chmod(self.workdir, 0o777 & ~current_umask())  # mkdtemp makes it 0700
        try:
            os.rename(self.workdir, self.final)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise
            return self._elsewhere()
        self.saved_to = self.final
        return self.final

    def _elsewhere(self) -> Path:
        """Another run (or someone) wrote ``final`` while this one trained: keep this run beside it."""
        self.taken = True
        target = free_sibling(self.final)
        os.chmod(self.workdir, 0o777 & ~current_umask())
        os.rename(self.workdir, target)
        self.saved_to = target
        return target

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
def run_directory(final: Path) -> Iterator[RunDirectory]:
    """A hidden temporary folder to write the run into (inside ``final`` when that is an existing
    folder, else beside it); ``commit()`` puts it in place.

    The parent folders are made, and the dead runs' temporary folders removed, on entry. On any
    error or Ctrl-C before the commit, the temporary folder is removed, together with the parent
    folders made for it, so no half-written run directory is ever left behind.
    """
    created = make_parents(final.parent)
    inside = final.is_dir()
    where = final if inside else final.parent
    remove_stale_temporaries(where, RUN_FILE_NAMES)
    try:
        run = RunDirectory(final, make_temporary_folder(where, final.name), inside)
    except BaseException:
        remove_folders(created)
        raise
    try:
        yield run
    finally:
        if run.saved_to is None:
            remove_tree(run.workdir)
            remove_folders(created)
