"""``deltaprop report``: where it writes, atomically, and its one-line errors."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
from pathlib import Path

import pytest
from helpers import trained_run

from deltaprop import cli


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    return trained_run(tmp_path_factory.mktemp("cli") / "run")


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    code = cli.main(["report", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deltaprop: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_the_report_goes_to_run_dir_report_html_by_default(small_run, capsys):
    target = small_run / "report.html"
    if target.exists():
        target.unlink()
    code, out, _ = _run(capsys, small_run)
    assert code == 0 and "report.html" in out
    assert target.read_text().startswith("<!DOCTYPE html>")


def test_dash_o_writes_there_and_replaces_an_old_file_whole(small_run, tmp_path, capsys):
    target = tmp_path / "r.html"
    target.write_text("old")
    code, _, _ = _run(capsys, small_run, "-o", target)
    assert code == 0 and target.read_text().endswith("</html>\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(small_run, tmp_path, capsys, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    code, out, err = _run(capsys, small_run, "-o", target)
    _one_line_error(code, out, err, "No space left", "r.html")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


@pytest.mark.parametrize("case", ["missing", "file", "no model"])
def test_a_path_that_is_no_run_directory_fails_in_one_line(case, tmp_path, capsys):
    path = tmp_path / "run"
    if case == "file":
        path.write_text("x")
    elif case == "no model":
        path.mkdir()
        (path / "history.json").write_text("{}")
    code, out, err = _run(capsys, path)
    fragment = {"missing": "no such run directory", "file": "is not a directory",
                "no model": "holds no model.safetensors"}[case]
    _one_line_error(code, out, err, str(path), fragment)
    assert not (tmp_path / "run" / "report.html").exists()


def test_a_corrupt_model_fails_in_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 20)
    code, out, err = _run(capsys, tmp_path)
    _one_line_error(code, out, err, "model.safetensors")
    assert not (tmp_path / "report.html").exists()


def test_output_into_a_missing_folder_or_onto_a_folder_fails_in_one_line(small_run, tmp_path, capsys):
    code, out, err = _run(capsys, small_run, "-o", tmp_path / "nowhere" / "r.html")
    _one_line_error(code, out, err, "nowhere: no such folder to write r.html into")
    code, out, err = _run(capsys, small_run, "-o", tmp_path)
    _one_line_error(code, out, err, "is a directory")


def test_no_data_skips_the_data_sections(small_run, tmp_path, capsys):
    code, _, _ = _run(capsys, small_run, "--no-data", "-o", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and "not loaded (--no-data)" in page and '<section id="histograms">' in page


MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


@pytest.mark.skipif(not (MNIST / "train-images-idx3-ubyte.gz").exists()
                    and not (MNIST / "train-images-idx3-ubyte").exists(),
                    reason="the MNIST files are not in ../shared/data/mnist")
def test_the_data_is_found_by_the_models_absolute_folder(tmp_path, capsys) -> None:
    """A sweep's trial keeps its space file's data_dir as written (maybe relative) in config.json:
    the report finds the data by the absolute folder stored in the model."""
    out = tmp_path / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["train", "--data", "mnist", "--data-dir", str(MNIST), "--epochs", "1",
                         "--hidden", "10", "--out", str(out), "--quiet", "--no-plots"]) == 0
    config = json.loads((out / "config.json").read_text())
    config["options"]["data_dir"] = "relative/to/somewhere/else"
    (out / "config.json").write_text(json.dumps(config))
    code, _, err = _run(capsys, out)
    assert code == 0, err
    assert "the data could not be loaded" not in (out / "report.html").read_text()


def test_the_models_data_settings_win_over_config_json(tmp_path) -> None:
    """The model's metadata first (its absolute folder, a seed of 0), config.json's options fill in."""
    from deltaprop.report.rundata import load_data, stored_data

    config = {"options": {"data": "mnist", "data_dir": "relative", "seed": 5}}
    meta = {"data_spec": "mnist", "data_dir": str(tmp_path), "data_seed": 0}
    assert stored_data(meta, config) == {"data_spec": "mnist", "data_dir": str(tmp_path), "data_seed": 0}
    assert stored_data({"data_spec": "", "data_dir": None}, config) == {
        "data_spec": "mnist", "data_dir": "relative", "data_seed": 5}
    with pytest.raises(ValueError, match="names no data set"):
        load_data({}, {}, "float64")
    with pytest.raises(FileNotFoundError, match="download=False"):  # never downloaded
        load_data(meta, config, "float64")
