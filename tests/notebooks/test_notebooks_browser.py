"""The notebooks as a learner reads them: each executed notebook converted to HTML by nbconvert and
opened in headless Chromium renders offline, without a console error or any request but the file,
with every figure drawn (SVG and images of non-zero size), the report's page in its frame included."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import launched_chromium, needs_chromium
from notebook_support import NAMES

# nbconvert's lab template loads require.js, MathJax and mermaid from CDNs; this one leaves them out, so
# that every request the page makes comes from the notebook's own outputs (formulas stay as TeX text).
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
FIGURES = """() => Array.from(document.querySelectorAll('svg, img'))
    .filter(element => !element.closest('[hidden]') && !element.closest('defs'))
    .map(element => { const box = element.getBoundingClientRect(); return [box.width, box.height]; })"""

FEWEST_FIGURES = {"backprop": 8, "saturation": 8, "from-scikit-learn": 1}
LIVE = ("backprop", "saturation")  # the notebooks that watch training live

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def pages(executed, tmp_path_factory) -> dict[str, Path]:
    """Each executed notebook as an HTML file, made by nbconvert's HTMLExporter."""
    exporters = pytest.importorskip("nbconvert")
    folder = tmp_path_factory.mktemp("nbconvert")
    (folder / "templates" / "offline").mkdir(parents=True)
    (folder / "templates" / "offline" / "index.html.j2").write_text(OFFLINE_TEMPLATE)
    (folder / "templates" / "offline" / "conf.json").write_text('{"base_template": "lab"}')
    exporter = exporters.HTMLExporter(template_name="offline",
                                      extra_template_basedirs=[str(folder / "templates")])
    written = {}
    for name, (notebook, _) in executed.items():
        body, _ = exporter.from_notebook_node(notebook)
        written[name] = folder / f"{name}.html"
        written[name].write_text(body, encoding="utf-8")
    return written


@pytest.fixture(scope="module")
def browser():
    yield from launched_chromium()


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_renders_offline_with_every_figure(browser, pages, name):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen: dict[str, list[str]] = {"console": [], "errors": [], "requests": []}
    page.on("console", lambda message: seen["console"].append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("request", lambda request: seen["requests"].append(request.url))
    url = pages[name].resolve().as_uri()
    page.goto(url, wait_until="load")
    try:
        assert [line for line in seen["console"] if line.startswith(("error", "warning"))] == []
        assert seen["errors"] == []
        assert seen["requests"] == [url]  # the file itself, nothing else
        figures = [box for frame in page.frames for box in frame.evaluate(FIGURES)]
        assert len(figures) >= FEWEST_FIGURES[name]
        assert all(width > 10 and height > 10 for width, height in figures), figures
        assert page.locator("progress").count() == (name in LIVE)  # the live view, at its end
        if name == "backprop":  # the report's page, in its frame
            (report,) = [frame for frame in page.frames if frame != page.main_frame]
            assert report.locator("section#curves svg circle").count() >= 3 * 5
            assert report.locator("section#explain table").count() == 1
    finally:
        page.close()
