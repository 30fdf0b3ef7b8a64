"""deltaprop._files: atomic writes that name the file they failed on, temporary names that carry the
writer's PID, and clean-up that removes only deltaprop's leftovers of dead processes."""

from __future__ import annotations

import errno
import os

import pytest

from deltaprop import _files
from deltaprop._files import (
    TEMPORARY_NAME,
    atomic_write,
    process_alive,
    remove_known,
    remove_stale_temporaries,
    stale_temporaries,
)

DEAD = 999_999_999  # above any pid_max: never a live process
LIVE = os.getppid()


def temporary(name: str, pid: int) -> str:
    return f".{name}.{pid}.abcd_123.tmp"


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as file:
        file.write(b"new")
        (name,) = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert TEMPORARY_NAME.match(name)["pid"] == str(os.getpid())  # its writer is known
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as file:
        file.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_full_disk_is_reported_with_the_file_it_concerns(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")  # as write(2) says it: no file

    monkeypatch.setattr(_files.os, "fsync", full)
    target = tmp_path / "model.safetensors"
    with pytest.raises(OSError) as raised, atomic_write(target) as file:
        file.write(b"data")
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_is_reported_by_the_target_name(tmp_path):
    target = tmp_path / "missing" / "model.safetensors"
    with pytest.raises(FileNotFoundError) as raised, atomic_write(target):
        pass
    assert raised.value.filename == str(target)  # not the hidden temporary name


def test_process_alive():
    assert process_alive(os.getpid()) and process_alive(LIVE)
    assert not process_alive(DEAD)


def test_stale_temporaries_are_those_of_dead_processes_only(tmp_path):
    for name in (temporary("run", DEAD), temporary("run", LIVE), temporary("run", os.getpid()),
                 ".run.12.tmp", "run.999999999.abcd_123.tmp", ".notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / temporary("model.safetensors", DEAD)).mkdir()
    assert [p.name for p in stale_temporaries(tmp_path)] == sorted(
        [temporary("model.safetensors", DEAD), temporary("run", DEAD)])
    assert stale_temporaries(tmp_path / "nowhere") == []


def test_remove_known_removes_only_known_files_and_keeps_a_folder_with_anything_else(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("checkpoint.safetensors", ".marker", temporary("checkpoint.safetensors", DEAD),
                 temporary("checkpoint.safetensors", LIVE), "notes.txt"):
        (folder / name).write_text("x")
    (folder / "sub").mkdir()
    (folder / "sub" / "checkpoint.safetensors").write_text("mine")
    assert not remove_known(folder, ["checkpoint.safetensors", ".marker"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["notes.txt", "sub", temporary("checkpoint.safetensors", LIVE)])
    assert (folder / "sub" / "checkpoint.safetensors").read_text() == "mine"


def test_remove_known_removes_the_folder_it_emptied_and_never_follows_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "checkpoint.safetensors").write_text("mine")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "checkpoint.safetensors").write_text("x")
    (folder / "link").symlink_to(outside, target_is_directory=True)
    assert not remove_known(folder, ["checkpoint.safetensors", "link"]) or not folder.exists()
    assert (outside / "checkpoint.safetensors").read_text() == "mine"
    assert not folder.exists()
    assert remove_known(folder, ["x"])  # already gone


def test_remove_stale_temporaries_keeps_what_is_not_deltaprops(tmp_path):
    dead_run = tmp_path / temporary("run", DEAD)
    dead_run.mkdir()
    (dead_run / "model.safetensors").write_text("half")
    (dead_run / temporary("curves.png", DEAD)).write_text("half")
    foreign = tmp_path / temporary("mine", DEAD)  # looks like ours, but holds a file of the user's
    foreign.mkdir()
    (foreign / "model.safetensors").write_text("x")
    (foreign / "thesis.tex").write_text("mine")
    live_run = tmp_path / temporary("run", LIVE)
    live_run.mkdir()
    (live_run / "model.safetensors").write_text("being written")
    (tmp_path / temporary("model.safetensors", DEAD)).write_text("half")
    remove_stale_temporaries(tmp_path, ["model.safetensors"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([foreign.name, live_run.name])
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]
    assert (live_run / "model.safetensors").read_text() == "being written"
