"""The report in a real browser: headless Chromium renders it offline, without a console error or a
network request, not blank, with its sections, hover readouts and a working epoch slider."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from browser import launched_chromium, needs_chromium
from helpers import trained_run
from matplotlib import image as mpimage

from deltaprop.report.page import write_report

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return write_report(trained_run(tmp_path_factory.mktemp("browser") / "run", epochs=4, hidden=16))


@pytest.fixture(scope="module")
def browser():
    yield from launched_chromium()


@pytest.fixture()
def opened(browser, report):
    """The report opened from its file:// URL, with the console messages, page errors and requests."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen: dict[str, list[str]] = {"console": [], "errors": [], "requests": []}
    page.on("console", lambda message: seen["console"].append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("request", lambda request: seen["requests"].append(request.url))
    url = report.resolve().as_uri()
    page.goto(url, wait_until="load")
    yield page, seen, url
    page.close()


def test_it_renders_offline_without_errors_or_requests(opened, tmp_path):
    page, seen, url = opened
    assert [line for line in seen["console"] if line.startswith(("error", "warning"))] == []
    assert seen["errors"] == []
    assert seen["requests"] == [url]  # the file itself, nothing else (images are inline)
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    pixels = mpimage.imread(str(shot))[..., :3]
    assert pixels.shape[0] > 2000  # the whole page, not one screen
    assert float(pixels.std()) > 0.05  # not blank
    assert float((pixels.min(axis=2) < 0.5).mean()) > 0.01  # and there is ink on it


def test_every_section_is_rendered_with_its_figures(opened):
    page, _, _ = opened
    for key in ("configuration", "curves", "speed", "histograms", "weights", "confusion", "wrong",
                "diagram", "explain"):
        assert page.locator(f"section#{key} h2").is_visible(), key
    assert page.locator("section#curves svg circle").count() >= 4 * 3
    assert page.locator("section#weights img:visible").count() == 1
    size = page.locator("section#weights img:visible").bounding_box()
    assert size is not None and size["width"] > 100  # the pixel image drawn large
    assert page.locator("section#confusion rect").count() == 100
    assert page.locator("section#explain table tr").count() == 3  # header and two layers


def test_pointing_at_a_point_shows_its_value(opened):
    page, _, _ = opened
    readout = page.locator("section#curves .readout")
    page.locator("section#curves svg circle").nth(2).hover(force=True)
    assert "epoch" in readout.inner_text() and ":" in readout.inner_text()


def test_in_print_the_controls_go_and_the_figures_stay(opened):
    page, _, _ = opened
    page.emulate_media(media="print")
    assert not page.locator("#epoch-control").is_visible()
    assert not page.locator("nav").is_visible()
    assert page.locator("section#histograms .snap:visible svg").count() >= 3
    page.emulate_media(media="screen")


def _visible_histogram(page) -> tuple[str, str]:
    block = page.locator("section#histograms .snap:visible")
    assert block.count() == 1
    return block.locator(".snap-epoch").inner_text(), block.inner_html()


def test_the_slider_moves_the_histograms_and_the_weight_images(opened):
    page, _, _ = opened
    slider = page.locator("#epoch-slider")
    assert page.locator("#epoch-label").inner_text() == "epoch 4"
    last_epoch, last_bars = _visible_histogram(page)
    last_image = page.locator("section#weights img:visible").get_attribute("src")
    assert last_epoch == "epoch 4"
    slider.fill("0")  # sets the value and fires input
    assert page.locator("#epoch-label").inner_text() == "epoch 0"
    first_epoch, first_bars = _visible_histogram(page)
    assert first_epoch.startswith("epoch 0") and first_bars != last_bars
    first_image = page.locator("section#weights img:visible").get_attribute("src")
    assert first_image != last_image
    slider.fill("2")
    assert _visible_histogram(page)[0] == "epoch 2"
    heights = page.locator("section#histograms .snap:visible rect").evaluate_all(
        "rects => rects.map(r => r.getBBox().height)")
    assert len(heights) > 10 and np.max(heights) > 10  # bars drawn, not empty boxes
