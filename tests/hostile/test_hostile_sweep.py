"""A hostile user of ``deltaprop sweep``: passwords in storage URLs, space files and study files
that are not what they claim, study names that are paths. Each case is one small sweep (the
digits, 1 epoch, 1 trial) in a subprocess, checked by the harness: exit status, one line, no
traceback, no secret in the output or in any file the sweep leaves."""

from __future__ import annotations

import json
import sqlite3

import pytest

from deltaprop.sweep.storage import masked, scrub, url_secrets
from tests.hostile.harness import SWEEP_SPACE, digest, files_holding, run, write_space

#: Every password below holds this, in some form; none of it may show anywhere.
SECRET = "s3cr"


@pytest.mark.parametrize("url", [
    "postgresql://u:s3cr/etX@127.0.0.1:1/db",
    "postgresql://u:s3cr%2FetX@127.0.0.1:1/db",
    "postgresql://u@127.0.0.1:1/db?password=s3cretX",
    "postgresql://u@127.0.0.1:1/db?sslmode=disable&pwd=s3cr%40etX",
    "postgresql://u:s3cr@etX@127.0.0.1:1/db",
    "postgresql://u:s3cr%3Fet%23X@127.0.0.1:1/db",
])
def test_a_password_in_a_storage_url_that_fails_is_never_shown(tmp_path, url):
    space = write_space(tmp_path)
    outcome = run(["sweep", space, "--trials", "1", "--storage", url, "--out", "out", "--json"], tmp_path)
    outcome.check(2, secrets=(SECRET, "etX"))
    assert "***" in outcome.err and "127.0.0.1" in outcome.err
    assert files_holding(tmp_path, SECRET, "etX") == []


@pytest.mark.parametrize("url, shown", [
    ("postgresql://me:pa/ss@db.example:5432/x", "postgresql://me:***@db.example:5432/x"),
    ("postgresql://me:pa%2Fss@db/x", "postgresql://me:***@db/x"),
    ("postgresql://me:p@ss@db/x", "postgresql://me:***@db/x"),
    ("mysql://me:p?a#ss@db/x", "mysql://me:***@db/x"),
    ("postgresql://:pass@db/x", "postgresql://:***@db/x"),
    ("postgresql://me@db/x?sslmode=require&PassWord=pass&a=1", "postgresql://me@db/x?sslmode=require&PassWord=***&a=1"),
    ("postgresql://me@db/x?pass%77ord=pass", "postgresql://me@db/x?pass%77ord=***"),
    ("postgresql://me@db/x", "postgresql://me@db/x"),
    ("sqlite:////tmp/a@b:c/study.db", "sqlite:////tmp/a@b:c/study.db"),
    ("journal:/tmp/x:y@z.log", "journal:/tmp/x:y@z.log"),
    ("me:pass@db", "me:***@db"),
])
def test_masked_hides_every_form_of_a_password(url, shown):
    assert masked(url) == shown


def test_scrub_removes_the_password_in_every_form_from_a_message():
    url = "postgresql://me:pa%2Fss%40x@db/x?password=other"
    message = f"cannot parse {url!r}: pa/ss@x, pa%2Fss%40x, other"
    assert set(url_secrets(url)) >= {"pa/ss@x", "pa%2Fss%40x", "other"}
    cleaned = scrub(message, url)
    assert "pa/ss" not in cleaned and "pa%2F" not in cleaned and "other" not in cleaned


def test_a_hidden_choice_beyond_the_model_format_s_layers_is_refused_naming_its_key(tmp_path):
    sizes = ", ".join(["2"] * 1001)
    text = SWEEP_SPACE.replace("[search]", f"[search]\nhidden = {{ choices = [[5], [{sizes}]] }}")
    space = write_space(tmp_path, text.replace("hidden = [5]\n", ""))
    outcome = run(["sweep", space, "--trials", "1", "--out", "out"], tmp_path)
    outcome.check(2)
    assert "search.hidden.choices[1]" in outcome.err and "1,000" in outcome.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("search", "key", "limit"), [
    ("hidden = { low = 5, high = 100_000_000 }", "search.hidden.high", "the model format's limit of 4.29 GB"),
    ("hidden = { low = 5, high = 5_000_000, log = true }", "search.hidden.high", "available"),
    ("hidden = { choices = [[5], [5_000_000]] }", "search.hidden.choices[1]", "available"),
], ids=["range-beyond-the-model-format", "range-beyond-memory", "choice-beyond-memory"])
def test_a_hidden_size_beyond_the_limits_is_refused_before_any_trial(tmp_path, search, key, limit):
    """The largest network a range or a choice can draw, with the data's inputs and classes, against
    the model format's limit and the memory the harness leaves (a 2 GiB address space)."""
    text = SWEEP_SPACE.replace("hidden = [5]\n", "").replace("[search]\n", f"[search]\n{search}\n")
    outcome = run(["sweep", write_space(tmp_path, text), "--trials", "1", "--out", "out"], tmp_path)
    outcome.check(2)
    assert outcome.err.startswith(f"deltaprop: error: {key}: a network with sizes [64, ")
    assert limit in outcome.err and len(outcome.err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", [
    "[search]\neta = { low = 0.1, high = 1.0 }\n[fixed]\nx = " + "[" * 3000 + "]" * 3000 + "\n",
    "[search]\neta = { low = 0.1, high = 1.0 }\n[fixed]\nx = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n",
    "[" + ".".join(["a"] * 3000) + "]\nb = 1\n",
], ids=["arrays", "inline-tables", "tables"])
def test_a_deeply_nested_space_file_is_one_line(tmp_path, text):
    outcome = run(["sweep", write_space(tmp_path, text), "--trials", "1", "--out", "out"], tmp_path)
    outcome.check(2)
    assert "nest" in outcome.err


def test_a_corrupt_study_database_is_one_line(tmp_path):
    space = write_space(tmp_path)
    run(["sweep", space, "--trials", "1", "--out", "out", "--seed", "0"], tmp_path).check(0)
    with sqlite3.connect(tmp_path / "out" / "study.db") as db:
        db.execute("UPDATE trials SET state = 'BOGUS'")
    before = digest(tmp_path)
    outcome = run(["sweep", space, "--trials", "2", "--out", "out"], tmp_path)
    outcome.check(2)
    assert "cannot read the study" in outcome.err and "BOGUS" in outcome.err
    assert digest(tmp_path) == before


@pytest.mark.parametrize("content", ["not a journal\n", '{"op_code": 0}\n', "\x00\x01\x02"])
def test_a_journal_that_is_not_one_is_one_line(tmp_path, content):
    space = write_space(tmp_path)
    (tmp_path / "sweep.log").write_text(content)
    outcome = run(["sweep", space, "--trials", "1", "--storage", "journal:sweep.log", "--out", "out"],
                  tmp_path)
    outcome.check(2)
    assert "not an Optuna journal file" in outcome.err
    assert (tmp_path / "sweep.log").read_text() == content


@pytest.mark.parametrize("name", ["../../x", "..", "a/b", "a\\b"])
def test_a_study_name_cannot_leave_the_output_folder(tmp_path, name):
    (tmp_path / "work").mkdir()
    space = write_space(tmp_path / "work")
    outcome = run(["sweep", space, "--trials", "1", "--study", name], tmp_path / "work")
    outcome.check(2)
    assert "study" in outcome.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["space.toml", "work"]


def test_sweep_json_and_json_output_show_the_storage_masked(tmp_path):
    space = write_space(tmp_path)
    outcome = run(["sweep", space, "--trials", "1", "--out", "out", "--json", "--seed", "0"], tmp_path)
    outcome.check(0)
    assert json.loads(outcome.out)["storage"].startswith("sqlite:///")
