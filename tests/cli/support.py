"""Helpers shared by the command-line tests: running main() in-process and checking its errors."""

from __future__ import annotations

from pathlib import Path

from deltaprop import cli

RUN_FILES = {"model.safetensors", "history.json", "config.json", "snapshots.npz", "curves.png",
             "learning_speed.png", "confusion_matrix.png", "first_layer_weights.png"}


def run(capsys, *argv: object) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``deltaprop ARGV``."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    """Exit status 2, nothing on stdout, one ``deltaprop: error:`` line naming ``fragments``."""
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deltaprop: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary run directories left in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


def check_user_error(capsys, monkeypatch, tmp_path: Path, argv: list[str], fragments: list[str],
                     names: dict[str, object]) -> None:
    """``argv`` (with ``{name}`` fields filled from ``names`` and ``tmp``) fails in one line and
    leaves ``tmp_path`` as it was: no run directory, no ``runs/``."""
    monkeypatch.chdir(tmp_path)
    argv = [arg.format(tmp=tmp_path, **names) for arg in argv]
    out = tmp_path / "run"
    if argv and argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(out), "--epochs", "1", "--quiet"]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = run(capsys, *argv)
    assert_one_line_error(code, stdout, stderr, *fragments)
    assert not out.exists() and not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
