"""The report page: self-contained, every section there, and each part drawn from the run's data."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimage

from deltaprop import Network, cli
from deltaprop.recording import QUANTITIES, SNAPSHOT_FILE, Snapshots
from deltaprop.report.diagram import drawable, network_diagram
from deltaprop.report.images import data_uri, diverging, png_bytes
from deltaprop.report.page import build_report, write_report
from deltaprop.report.rundata import RunData, load_run
from deltaprop.report.sections_model import confusion_svg
from deltaprop.report.sections_training import saturated_bars
from deltaprop.report.svg import line_chart

SECTIONS = ("configuration", "curves", "speed", "histograms", "weights", "confusion", "wrong",
            "diagram", "explain")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    """A small digits run of 'deltaprop train': 3 epochs, no plots."""
    out = tmp_path_factory.mktemp("report") / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["train", "--epochs", "3", "--hidden", "12", "--out", str(out), "--quiet",
                         "--no-plots"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def page(digits_run) -> str:
    return build_report(load_run(digits_run))


def test_the_page_is_self_contained_and_small(page):
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(http" not in page
    sources = re.findall(r'<img[^>]*src="([^"]*)"', page)
    assert sources and all(source.startswith("data:image/png;base64,") for source in sources)
    assert '<script src' not in page and "<script>" in page
    assert "@media print" in page
    assert len(page.encode()) < 2_000_000


def test_every_section_is_there_with_one_histogram_block_per_snapshot(page, digits_run):
    for key in SECTIONS:
        assert f'<section id="{key}">' in page, key
    assert '<input type="range" id="epoch-slider"' in page
    snapshots = load_run(digits_run, with_data=False).snapshots
    assert snapshots is not None and snapshots.epochs == [0, 1, 2, 3]
    histograms = page[page.index('<section id="histograms">'):page.index('<section id="weights">')]
    assert histograms.count('class="snap"') == 4
    assert histograms.count(" hidden>") == 3  # the last epoch shown first
    weights = page[page.index('<section id="weights">'):page.index('<section id="confusion">')]
    assert weights.count('class="snap"') == 4 and "colour bar" in weights


def test_curves_carry_each_value_in_a_tooltip(digits_run, page):
    records = json.loads((digits_run / "history.json").read_text())["records"]
    for record in records:
        assert f"test, epoch {record['epoch']}: {100 * record['test_accuracy']:.2f}%" in page
    assert "learning speed" in page and "saturated units" in page


def test_the_explain_trace_of_a_test_example_is_shown(page):
    explain = page[page.index('<section id="explain">'):]
    assert "C_x =" in explain and "‖∂C/∂w‖" in explain and "not available" not in explain.lower()


def _copy(run: Path, tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    for name in drop:
        (copy / name).unlink()
    return copy


def test_a_run_without_snapshots_or_history_still_reports_saying_what_is_missing(digits_run, tmp_path):
    copy = _copy(digits_run, tmp_path, (SNAPSHOT_FILE, "history.json", "config.json"))
    path = write_report(copy)
    page = path.read_text()
    assert path == copy / "report.html"
    assert "Histograms not recorded" in page and "No history.json" in page
    assert "Only the final weights" in page  # the model's weights, without a slider
    assert 'id="epoch-slider"' not in page
    assert '<section id="confusion">' in page and "errors, accuracy" in page


def test_without_the_data_the_data_sections_say_so_in_one_line(digits_run, tmp_path):
    run = load_run(digits_run)
    run.dataset, run.problems["data"] = None, "no such file: gone.npz"
    page = build_report(run)
    assert page.count("the data could not be loaded (no such file: gone.npz)") == 3
    assert '<section id="histograms">' in page and "<svg" in page


def test_confusion_matrix_errors_stand_out_on_their_own_scale():
    matrix = np.array([[50, 1, 0], [3, 40, 0], [0, 0, 60]])
    svg = confusion_svg(matrix)
    cells = dict(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})" class="(?:diag|off) tip"><title>'
                            r'(true \d, predicted \d)', svg)[i][::-1] for i in range(9))
    assert cells["true 1, predicted 0"] == "#cb181d"  # the largest error: full red
    assert cells["true 0, predicted 2"] == "#ffffff"  # no error: white
    for i in range(3):
        red, green, blue = (int(cells[f"true {i}, predicted {i}"][k:k + 2], 16) for k in (1, 3, 5))
        assert red == green == blue  # the diagonal is grey


def test_png_images_decode_to_the_pixels_encoded():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    decoded = mpimage.imread(io.BytesIO(png_bytes(rgb)), format="png")
    np.testing.assert_array_equal(np.rint(decoded[..., :3] * 255).astype(np.uint8), rgb)
    assert data_uri(rgb).startswith("data:image/png;base64,")
    colours = diverging(np.array([-2.0, 0.0, 2.0]), 2.0)
    assert colours[0][2] > colours[0][0] and colours[2][0] > colours[2][2]  # blue, then red


def test_small_nets_are_drawn_weight_by_weight_and_large_ones_as_blocks():
    small, large = Network([4, 3, 2], seed=0), Network([784, 30, 10], seed=0)
    assert drawable(small) and not drawable(large)
    drawn = network_diagram(small)
    assert drawn.count("<circle") == 9 and "positive weights" in drawn and "negative weights" in drawn
    blocks = network_diagram(large)
    assert blocks.count('class="block"') == 3 and "23,520 weights" in blocks


def test_a_chart_without_values_says_so():
    assert "no values recorded" in line_chart([("test", [1, 2], [None, None])], "accuracy")
    log_chart = line_chart([("layer 1", [1, 2, 3], [0.1, 0.0, 0.01])], "speed", log=True)
    assert log_chart.count("<circle") == 2  # 0 cannot be drawn on a log scale


def test_z_bars_where_a_sigmoid_saturates_are_marked(digits_run):
    run = load_run(digits_run, with_data=False)
    marked = saturated_bars(run, 0, np.linspace(-10.0, 10.0, 11))  # middles -9, -7, ..., 9
    assert marked.tolist() == [True, True] + [False] * 6 + [True, True]  # σ'(z) < 0.0025: |z| > 5.99
    relu = RunData(digits_run, Network([64, 12, 10], activation="relu", seed=0), {})
    assert saturated_bars(relu, 0, np.linspace(-1.0, 1.0, 5)) is None


def test_the_histograms_say_which_z_are_saturated(page):
    histograms = page[page.index('<section id="histograms">'):page.index('<section id="weights">')]
    assert "Dark bars of z" in histograms
    marked = histograms.count('fill="#222222"')
    assert marked > 0 and marked == histograms.count("saturated: σ&#x27;(z) &lt; 1% of its peak")


def test_a_resumed_run_reports_the_epochs_recorded_after_the_resume(digits_run, tmp_path):
    copy = _copy(digits_run, tmp_path)
    snapshots = Snapshots.load(copy / SNAPSHOT_FILE)
    keep = [snapshots.epochs.index(epoch) for epoch in (2, 3)]  # resumed in epoch 2: no 0, no 1
    snapshots.epochs = [2, 3]
    for q in QUANTITIES:
        snapshots.counts[q] = [snapshots.counts[q][i] for i in keep]
        snapshots.edges[q] = [snapshots.edges[q][i] for i in keep]
    snapshots.first_layer = [snapshots.first_layer[i] for i in keep]
    snapshots.save(copy / SNAPSHOT_FILE)
    page = write_report(copy).read_text()
    assert 'max="1"' in page and 'data-epochs="[2, 3]"' in page
    assert "(initialization)" not in page and page.count('class="snap"') == 4  # 2 histograms, 2 images


def test_names_from_the_run_are_escaped(digits_run, tmp_path):
    hostile = tmp_path / '<script>alert("x")</script>'
    shutil.copytree(digits_run, hostile)
    page = build_report(load_run(hostile, with_data=False))
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own
