"""A hostile user of ``deltaprop train``: each way the reliability issue found to lose a run or the
user's files, or to answer with a message that does not say what to do, built small on the fly.

Every case runs the command line in a subprocess whose address space is limited (``RLIMIT_AS``),
within a time limit, and checks: the exit status, at most 3 lines on stderr, no traceback, no
warning, and every file of the user's that was there before as it was (a digest of the whole tree
before and after). What deltaprop may remove is only its own: checkpoints, their marker, its
temporary names.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deltaprop import cli
from deltaprop import io as model_io
from deltaprop.checkpoint import load_checkpoint

ADDRESS_SPACE = 2 * 2**30  # a run on the digits needs about 0.2 GiB resident, 1 GiB of addresses
SECONDS = 60
QUICK = ["--epochs", "1", "--quiet", "--no-plots"]
RUN = {"model.safetensors", "history.json", "config.json", "snapshots.npz"}
MARKER = ".deltaprop-checkpoint"
#: Names deltaprop may remove: its checkpoints, their marker, its temporary names (.NAME.PID.X.tmp).
OURS = ("checkpoint.safetensors", MARKER)
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
ENV.pop("DELTAPROP_DEBUG", None)


def _limits(file_bytes: int | None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        if file_bytes is not None:  # a full disk, as far as this process can tell
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))

    return apply


def start(argv: list[str], cwd: Path, file_bytes: int | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "deltaprop", "train", *map(str, argv)], cwd=cwd,
                            env=ENV, preexec_fn=_limits(file_bytes), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen) -> tuple[int, str, float]:
    started = time.monotonic()
    _, err = process.communicate(timeout=SECONDS)
    return process.returncode, err, time.monotonic() - started


def user_files(root: Path) -> dict[str, str]:
    """Digest of every file (and link) under ``root`` that is not deltaprop's to remove."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.name in OURS or (path.name.startswith(".") and path.name.endswith(".tmp")):
            continue
        if path.is_symlink():
            digests[str(path.relative_to(root))] = "-> " + os.readlink(path)
        elif path.is_file():
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def check_output(code: int, err: str, expected_code: int, fragments: tuple[str, ...]) -> None:
    lines = err.strip().splitlines()
    assert code == expected_code, err
    assert len(lines) <= 3, err
    assert "Traceback" not in err and "Warning" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    for line in lines:
        assert len(line) <= 300, line


def hidden_temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


# -- a checkpoint to resume, made once ------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A checkpoint folder of a 1-epoch run whose run directory is gone (so it can be written)."""
    root = tmp_path_factory.mktemp("made")
    assert cli.main(["train", *QUICK, "--out", str(root / "run"),
                     "--checkpoint-dir", str(root / "ckpt")]) == 0
    shutil.rmtree(root / "run")
    return root / "ckpt"


def copy_checkpoint(source: Path, folder: Path, out: str | None = None, marker: bool = True) -> None:
    """The checkpoint, as an automatic one (not kept once the run completes), in ``folder``; with
    --out rewritten to ``out`` (as an older deltaprop stored it: relative)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = load_checkpoint(source)
    saved.state["extra"]["cli"]["keep_checkpoints"] = False
    if out is not None:
        saved.state["extra"]["cli"]["out"] = out
    model_io.save(saved.net, folder / "checkpoint.safetensors",
                  extra_metadata={"checkpoint": saved.state}, slots=saved.slots)
    if marker:
        (folder / MARKER).write_text("deltaprop checkpoint folder\n")


# -- the cases: each builds its files under root and says what must happen ------------------------


@dataclass
class Case:
    argv: list[str]
    code: int
    fragments: tuple[str, ...] = ()
    cwd: str = "."
    file_bytes: int | None = None
    after: Callable[[Path], None] = field(default=lambda root: None)


def resume_in_a_project_folder(root: Path, checkpoint: Path) -> Case:
    """The issue's data loss: an automatic checkpoint copied into a project folder (marker and all)
    with a relative --out stored, resumed there with --resume ."""
    project = root / "project"
    copy_checkpoint(checkpoint, project, out="run")
    (project / "notes.txt").write_text("my notes")
    (project / "data").mkdir()
    (project / "data" / "model.safetensors").write_text("not deltaprop's")

    def after(root: Path) -> None:
        assert {p.name for p in (root / "run").iterdir()} == RUN  # beside the checkpoint folder
        assert {p.name for p in project.iterdir()} == {"notes.txt", "data"}

    return Case(["--resume", ".", "--quiet", "--no-plots"], 0, cwd="project", after=after)


def resume_from_a_copy_without_marker(root: Path, checkpoint: Path) -> Case:
    project = root / "project"
    copy_checkpoint(checkpoint, project, marker=False)  # --out stored absolute, elsewhere
    (project / "notes.txt").write_text("my notes")

    def after(root: Path) -> None:
        assert (project / "checkpoint.safetensors").is_file()  # not deltaprop's folder: kept

    return Case(["--resume", "project", "--quiet", "--no-plots"], 0, after=after)


def users_folder_named_like_the_checkpoint(root: Path, checkpoint: Path) -> Case:
    (root / "run.checkpoint").mkdir()
    (root / "run.checkpoint" / "thesis.tex").write_text("mine")
    return Case([*QUICK, "--out", "run"], 2, ("run.checkpoint", "not deltaprop's", "--checkpoint-dir"))


def users_files_in_a_marked_checkpoint_folder(root: Path, checkpoint: Path) -> Case:
    copy_checkpoint(checkpoint, root / "run.checkpoint")
    (root / "run.checkpoint" / "notes.txt").write_text("mine")
    return Case([*QUICK, "--out", "run"], 2, ("run.checkpoint", "another run", "--resume"))


def out_a_symlink_to_an_empty_folder(root: Path, checkpoint: Path) -> Case:
    (root / "target").mkdir()
    (root / "link").symlink_to("target", target_is_directory=True)

    def after(root: Path) -> None:
        assert {p.name for p in (root / "target").iterdir()} == RUN
        assert sorted(p.name for p in root.iterdir()) == ["link", "target"]

    return Case([*QUICK, "--out", "link"], 0, after=after)


def checkpoint_dir_a_file(root: Path, checkpoint: Path) -> Case:
    (root / "afile").write_text("mine")
    return Case([*QUICK, "--out", "run", "--checkpoint-dir", "afile"], 2,
                ("--checkpoint-dir afile is a file", "expected a folder"))


def out_below_a_file(root: Path, checkpoint: Path) -> Case:
    (root / "afile").write_text("mine")
    return Case([*QUICK, "--out", "afile/run"], 2, ("--out", "is a file", "choose another --out"))


def a_long_path(root: Path, checkpoint: Path) -> Case:
    (root / "afile").write_text("mine")
    return Case([*QUICK, "--out", "afile/" + "/".join(["x" * 60] * 6)], 2, ("--out",))


def checkpoint_larger_than_the_disk(root: Path, checkpoint: Path) -> Case:
    def after(root: Path) -> None:
        assert sorted(p.name for p in root.iterdir()) == ["mine.txt"]

    (root / "mine.txt").write_text("mine")
    return Case([*QUICK, "--out", "run"], 2, ("saving the checkpoint", "File too large",
                                              "ulimit -f", "run again"), file_bytes=8192, after=after)


def huge_lmbda(root: Path, checkpoint: Path) -> Case:
    return Case([*QUICK, "--out", "run", "--lmbda", "1e308"], 2, ("--lmbda 1e+308", "overflows"))


def huge_label(root: Path, checkpoint: Path) -> Case:
    rows = ["label,a,b"] + [f"{i % 2},{i},{i * 2}" for i in range(20)] + ["1e300,1,2"]
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return Case([*QUICK, "--out", "run", "--data", "labels.csv"], 2,
                ("labels.csv", "1e+300"))


CASES = [resume_in_a_project_folder, resume_from_a_copy_without_marker,
         users_folder_named_like_the_checkpoint, users_files_in_a_marked_checkpoint_folder,
         out_a_symlink_to_an_empty_folder, checkpoint_dir_a_file, out_below_a_file, a_long_path,
         checkpoint_larger_than_the_disk, huge_lmbda, huge_label]


@pytest.mark.parametrize("make", CASES, ids=[case.__name__ for case in CASES])
def test_hostile_case(make, tmp_path, checkpoint) -> None:
    case = make(tmp_path, checkpoint)
    before = user_files(tmp_path)
    code, err, seconds = finish(start(case.argv, tmp_path / case.cwd, case.file_bytes))
    check_output(code, err, case.code, case.fragments)
    assert "-9223372036854775808" not in err
    assert seconds < SECONDS
    after = user_files(tmp_path)
    assert {name: after.get(name) for name in before} == before  # every file of the user's intact
    assert hidden_temporaries(tmp_path) == []
    case.after(tmp_path)


# -- what needs a second run: a full disk while writing, signals, two runs at once ----------------


def test_a_full_disk_while_writing_the_run_loses_nothing(tmp_path) -> None:
    (tmp_path / "mine.txt").write_text("mine")
    argv = ["--epochs", "1", "--quiet", "--out", "run"]  # the plots are larger than the checkpoint
    code, err, _ = finish(start(argv, tmp_path, file_bytes=30 * 1024))
    check_output(code, err, 2, ("writing the run to", "File too large (", "nothing was written",
                                "--resume"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "run.checkpoint"]
    code, err, _ = finish(start(["--resume", "run.checkpoint", "--no-plots"], tmp_path))
    check_output(code, err, 0, ())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "run"]


def _wait_for_writing(root: Path, process: subprocess.Popen) -> bool:
    """Wait until the run's files are being written (the model is in its hidden folder)."""
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if any(root.glob(".run.*.tmp/model.safetensors")):
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_signal_while_writing_leaves_the_complete_run_or_nothing(tmp_path, how) -> None:
    (tmp_path / "mine.txt").write_text("mine")
    process = start(["--epochs", "2", "--out", "run"], tmp_path)  # with the plots: ~1 s of writing
    if _wait_for_writing(tmp_path, process):
        process.send_signal(how)
    code, err, _ = finish(process)
    if code == 0:  # it had finished
        assert {p.name for p in (tmp_path / "run").iterdir()} >= RUN
        return
    if how == signal.SIGTERM:
        check_output(code, err, 143, ("stopped by SIGTERM while writing the run",
                                      "nothing was written", "--resume"))
        assert hidden_temporaries(tmp_path) == []
    assert not (tmp_path / "run").exists()
    code, err, _ = finish(start(["--resume", "run.checkpoint", "--no-plots", "--quiet"], tmp_path))
    check_output(code, err, 0, ())  # a killed run's leftovers are cleared by the next one there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "run"]
    assert hidden_temporaries(tmp_path) == []


def test_two_runs_writing_one_out(tmp_path) -> None:
    argv = ["--epochs", "20", "--quiet", "--no-plots", "--out", "same"]
    first = start([*argv, "--checkpoint-dir", "one"], tmp_path)
    second = start([*argv, "--checkpoint-dir", "two"], tmp_path)
    results = sorted([finish(first), finish(second)], key=lambda result: result[0])
    (ok, _, _), (lost, err, _) = results
    assert ok == 0
    check_output(lost, err, 2, ("--out",))
    assert ("another run wrote it first" in err and "saved to same-2" in err) or "already holds" in err
    for folder in [tmp_path / "same"] + ([tmp_path / "same-2"] if "same-2" in err else []):
        assert {p.name for p in folder.iterdir()} == RUN
    assert hidden_temporaries(tmp_path) == []
