"""deltaprop bench: finds bench/run.py in the source checkout and hands it its arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import deltaprop
from deltaprop.cli import bench

from .support import assert_one_line_error, run

FAKE_SUITE = '''
import sibling  # bench/ is on sys.path, as under "python bench/run.py"

def main(argv):
    sibling.CALLS.append(argv)
    if "--help" in argv:
        raise SystemExit(0)
    return int(argv[-1]) if argv and argv[-1].isdigit() else 0
'''


@pytest.fixture()
def fake_suite(tmp_path, monkeypatch) -> Path:
    """A bench/run.py that records the arguments it is given (in its sibling module)."""
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "run.py").write_text(FAKE_SUITE)
    (folder / "sibling.py").write_text("CALLS = []\n")
    monkeypatch.setattr(bench, "script_path", lambda: folder / "run.py")
    monkeypatch.delitem(sys.modules, "sibling", raising=False)
    return folder / "run.py"


def test_the_arguments_after_bench_reach_the_suite(fake_suite, capsys) -> None:
    code, _, _ = run(capsys, "bench", "--runs", "A", "--repeat", "3")
    assert code == 3  # the suite's exit status
    import sibling

    assert sibling.CALLS == [["--runs", "A", "--repeat", "3"]]
    assert run(capsys, "bench", "--help")[0] == 0
    assert sibling.CALLS[-1] == ["--help"]
    assert str(fake_suite.parent) not in sys.path


def test_without_a_source_checkout_bench_exits_2(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench, "script_path", lambda: tmp_path / "bench" / "run.py")
    code, out, err = run(capsys, "bench", "--runs", "A")
    assert_one_line_error(code, out, err, "'deltaprop bench' needs a source checkout", "bench/")


def test_a_suite_without_main_exits_2(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "run.py").write_text("X = 1\n")
    monkeypatch.setattr(bench, "script_path", lambda: tmp_path / "run.py")
    code, out, err = run(capsys, "bench")
    assert_one_line_error(code, out, err, "main(argv)")


def test_the_suite_is_looked_for_beside_src() -> None:
    root = Path(deltaprop.__file__).resolve().parents[2]
    assert bench.script_path() == root / "bench" / "run.py"
    assert (root / "src" / "deltaprop" / "__init__.py").is_file()


@pytest.mark.skipif(not bench.script_path().is_file(), reason="no source checkout")
def test_the_real_suite_answers_help(capsys) -> None:
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0
    assert "--runs" in out


@pytest.mark.skipif(not bench.script_path().is_file(), reason="no source checkout")
def test_the_real_suite_is_named_deltaprop_bench_and_suggests_options(capsys) -> None:
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0 and out.startswith("usage: deltaprop bench ")
    code, out, err = run(capsys, "bench", "--rnus", "A")
    assert_one_line_error(code, out, err, "bench: unrecognized arguments: --rnus A",
                          "did you mean --runs?", "'deltaprop bench --help'")
    code, out, err = run(capsys, "bench", "--runs", "E")
    assert_one_line_error(code, out, err, "unknown runs ['E']")
