"""Hostile models and run folders (issue 18, point 3 and the report's part of point 4).

A model may store a data location naming any local file: ``evaluate`` and ``report`` name the path,
never what the file holds, on the terminal or in the page. A run folder's ``history.json``,
``config.json`` and ``snapshots.npz`` are checked against their schemas within the limits of
``deltaprop.limits``: a tampered one gives one line naming the file and the field, in bounded
memory (the harness runs each command under RLIMIT_AS). The largest run folder the report accepts
gives a page under ``MAX_REPORT_BYTES``.
"""

from __future__ import annotations

import io as bytes_io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import trained_run
from pydantic import ValidationError

from deltaprop import io, limits, run_schema
from deltaprop.network import Network
from deltaprop.schema import validation_message
from tests.hostile.harness import bench_module, digest, run

SECRET = "TOPSECRET"
RESERVED = ("format_version", "sizes", "activations", "cost", "dtype", "training", "deltaprop_version",
            "slots")


@pytest.fixture(scope="module")
def made_run(tmp_path_factory) -> Path:
    """A small run folder of 'deltaprop train' (2 epochs, no plots)."""
    return trained_run(tmp_path_factory.mktemp("made") / "run")


def copy_run(made_run: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(made_run, folder)
    return folder


def point_model_at(folder: Path, spec: str, data_dir: str | None = None) -> None:
    """Rewrite the run's model so that its stored data location is ``spec`` (and ``data_dir``)."""
    net, meta, _ = io.load_with_metadata(folder / "model.safetensors")
    extra = {key: value for key, value in meta.items() if key not in RESERVED}
    extra.update(data_spec=spec, data_dir=data_dir)
    io.save(net, folder / "model.safetensors", extra_metadata=extra)


# -- a model naming another file ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["secret.csv", "secret.npz", "secret.txt"])
def test_a_model_naming_a_local_file_never_shows_its_content(made_run, tmp_path, name):
    secrets = tmp_path / "private"
    secrets.mkdir()
    target = secrets / name
    target.write_text(f"{SECRET} the first line,label\n{SECRET},1\n")
    folder = copy_run(made_run, tmp_path)
    point_model_at(folder, str(target), str(secrets))
    before = digest(secrets)

    outcome = run(["evaluate", folder / "model.safetensors"], tmp_path)
    outcome.check(2, secrets=(SECRET,))
    assert str(target) in outcome.err and len(outcome.err.splitlines()) == 1

    outcome = run(["report", folder, "-o", tmp_path / "page.html"], tmp_path)
    outcome.check(0, secrets=(SECRET,))
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert SECRET not in page and str(target) in page
    assert digest(secrets) == before


def test_a_model_naming_a_local_file_says_it_is_not_readable_data(made_run, tmp_path):
    target = tmp_path / "notes.csv"
    target.write_text(f"{SECRET}\n")
    folder = copy_run(made_run, tmp_path)
    point_model_at(folder, str(target))
    outcome = run(["evaluate", folder / "model.safetensors"], tmp_path)
    outcome.check(2, secrets=(SECRET,))
    assert "stored in the model is not readable data" in outcome.err
    # the user's own --data still gets the reader's full message (it is the user's file)
    outcome = run(["evaluate", folder / "model.safetensors", "--data", target], tmp_path)
    outcome.check(2)
    assert "label" in outcome.err


# -- tampered run folders ---------------------------------------------------------------------------

TAMPERED = {
    "history not an object": ("history.json", "[1, 2]", "history.json"),
    "history records of the wrong type": ("history.json", '{"records": "many", "stop_reason": "completed"}',
                                          "records"),
    "history record of the wrong type": (
        "history.json", '{"records": [{"epoch": "one"}], "stop_reason": "completed"}', "records.0"),
    "history with an unknown field": (
        "history.json", '{"records": [], "stop_reason": "completed", "evil": 1}', "evil"),
    "history nested deeply": (
        "history.json", '{"records": ' + "[" * 100_000 + "]" * 100_000 + ', "stop_reason": "x"}', "nested"),
    "history not JSON": ("history.json", "{'records': []}", "not valid JSON"),
    "config not an object": ("config.json", "[]", "config.json"),
    "config data_dir of the wrong type": ("config.json", '{"options": {"data_dir": 5}}', "options.data_dir"),
    "config rows of the wrong type": ("config.json", '{"dataset": {"rows": {"train": "many"}}}',
                                      "dataset.rows.train"),
    "config image shape of three numbers": ("config.json", '{"dataset": {"image_shape": [1, 2, 3]}}',
                                            "dataset.image_shape"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_history_or_config_is_refused_naming_the_file_and_field(made_run, tmp_path, case):
    name, text, field = TAMPERED[case]
    folder = copy_run(made_run, tmp_path)
    (folder / name).write_text(text)
    outcome = run(["report", folder], tmp_path)
    outcome.check(2)
    assert name in outcome.err and field in outcome.err, outcome.err
    assert not (folder / "report.html").exists()


def test_a_history_too_large_is_refused_unread(made_run, tmp_path):
    folder = copy_run(made_run, tmp_path)
    with open(folder / "history.json", "wb") as file:  # sparse: nothing is written
        file.truncate(limits.MAX_HISTORY_BYTES + 1)
    outcome = run(["report", folder], tmp_path)
    outcome.check(2)
    assert "history.json" in outcome.err and "more than the limit" in outcome.err


def test_too_many_history_records_are_refused(made_run, tmp_path):
    """(In a file of deltaprop's records the byte limit comes first: the schema is checked here.)"""
    history = json.loads((made_run / "history.json").read_text())
    history["records"] = history["records"][:1] * (limits.MAX_HISTORY_RECORDS + 1)
    with pytest.raises(ValidationError) as raised:
        run_schema.RunHistory.model_validate(history)
    message = validation_message(raised.value, "history.json")
    assert "'records'" in message and f"{limits.MAX_HISTORY_RECORDS}" in message.replace(",", "")


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    stream = bytes_io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": dtype, "fortran_order": False, "shape": shape})
    return stream.getvalue()


def _replace_member(path: Path, name: str, write) -> None:
    """Rewrite the .npz at ``path`` with member ``name`` written by ``write(stream)``."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist() if info.filename != name}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        with archive.open(name, "w", force_zip64=True) as stream:
            write(stream)


def test_a_snapshot_member_claiming_a_huge_shape_is_refused_from_its_header(made_run, tmp_path):
    folder = copy_run(made_run, tmp_path)
    _replace_member(folder / "snapshots.npz", "z_counts.npy",
                    lambda stream: stream.write(_npy_header((10**6, 10**6, 40), "<i8")))
    outcome = run(["report", folder], tmp_path)
    outcome.check(2)
    assert "snapshots.npz" in outcome.err and "z_counts" in outcome.err


def test_a_snapshot_bomb_is_refused_before_it_is_inflated(made_run, tmp_path):
    """A member that honestly holds 128 MiB of zeros (a few hundred kB compressed)."""
    folder = copy_run(made_run, tmp_path)
    count = 128 * 2**20 // 8

    def write(stream) -> None:
        stream.write(_npy_header((count // 40, 1, 40), "<i8"))
        block = bytes(2**20)
        for _ in range(count * 8 // len(block)):
            stream.write(block)

    _replace_member(folder / "snapshots.npz", "delta_counts.npy", write)
    assert (folder / "snapshots.npz").stat().st_size < 2**20
    outcome = run(["report", folder], tmp_path)
    outcome.check(2)
    assert "snapshots.npz" in outcome.err and "delta_counts" in outcome.err and "limit" in outcome.err


@pytest.mark.parametrize("change", ["epochs out of order", "edges of the wrong shape", "unknown member",
                                    "sizes of another model"])
def test_tampered_snapshots_are_refused_naming_the_member(made_run, tmp_path, change):
    folder = copy_run(made_run, tmp_path)
    path = folder / "snapshots.npz"
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    member = {"epochs out of order": "epochs", "edges of the wrong shape": "weights_edges",
              "unknown member": "extra", "sizes of another model": "sizes"}[change]
    if member == "epochs":
        arrays["epochs"] = arrays["epochs"][::-1].copy()
    elif member == "weights_edges":
        arrays["weights_edges"] = arrays["weights_edges"][:, :, :3]
    elif member == "extra":
        arrays["extra"] = np.zeros(3)
    else:
        arrays["sizes"][-1] += 1
    np.savez(path, **arrays)
    outcome = run(["report", folder], tmp_path)
    outcome.check(2)
    assert "snapshots.npz" in outcome.err and member in outcome.err, outcome.err


# -- the largest run folder accepted --------------------------------------------------------------


@pytest.mark.parametrize(("side", "layers"), [(28, 12), (10, limits.MAX_LAYERS)])
def test_the_largest_accepted_run_gives_a_report_under_the_limit(tmp_path, side, layers):
    folder = tmp_path / "run"
    bench_module("limits_memory").largest_run(folder, side, layers)
    assert (folder / "config.json").stat().st_size < limits.MAX_CONFIG_BYTES
    assert (folder / "history.json").stat().st_size > limits.MAX_HISTORY_BYTES * 0.9
    outcome = run(["report", folder], tmp_path, timeout=120)
    outcome.check(0, max_seconds=120)
    size = (folder / "report.html").stat().st_size
    assert size < limits.MAX_REPORT_BYTES
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="confusion"' in page and "the first 7 and the output layer are drawn" in page
    assert SECRET not in page


def test_thin_keeps_the_ends_and_at_most_the_count():
    assert limits.thin(5, 10) == [0, 1, 2, 3, 4]
    chosen = limits.thin(10_000, limits.MAX_CHART_POINTS)
    assert len(chosen) <= limits.MAX_CHART_POINTS and chosen[0] == 0 and chosen[-1] == 9_999
    assert chosen == sorted(set(chosen))


def test_the_recorder_keeps_only_the_weight_images_the_report_can_draw():
    from deltaprop.recording import Recorder

    side = 100  # 10,000 pixels: 7 units fit in MAX_REPORT_IMAGE_PIXELS
    net = Network([side * side, 20, 2], seed=0)
    X, y = np.zeros((3, side * side)), np.array([0, 1, 0])
    recorder = Recorder(net, X, y, epochs=[0], image_shape=(side, side))
    recorder.start()
    (first,) = recorder.snapshots.first_layer
    assert first.shape == (limits.MAX_REPORT_IMAGE_PIXELS // side**2, side * side)
    huge = Network([300 * 300, 2], seed=0)
    recorder = Recorder(huge, np.zeros((1, 300 * 300)), np.array([0]), epochs=[0], image_shape=(300, 300))
    assert recorder.snapshots.first_layer is None
