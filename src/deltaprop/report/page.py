"""The report page: one self-contained HTML file (styles, script, figures and images inline).

The page is assembled with f-strings and ``html.escape`` (no template engine: the page has one
fixed layout), from the sections of ``sections_training`` and ``sections_model``. It loads nothing
from anywhere: no external stylesheet, script, font or image, so it reads the same offline, and
``@media print`` drops the controls and keeps figures whole on paper.
"""

from __future__ import annotations

import os
from pathlib import Path

from deltaprop._files import atomic_write
from deltaprop.limits import MAX_REPORT_BYTES, format_bytes
from deltaprop.report import sections_model as model
from deltaprop.report import sections_training as training
from deltaprop.report.rundata import RunData, load_run
from deltaprop.report.svg import esc

REPORT_FILE = "report.html"

STYLE = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
body { margin: 0 auto; max-width: 1060px; padding: 0 16px 40px; line-height: 1.4; }
h1 { font-size: 1.5em; margin: 18px 0 4px; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 8px 0 2px; }
nav a { margin-right: 10px; font-size: .9em; }
.row { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
svg { max-width: 100%; height: auto; background: #fff; }
.ct { font-size: 12px; font-weight: 600; } .tk, .lg { font-size: 10px; fill: #444; }
.al { font-size: 11px; fill: #444; text-anchor: middle; } .cm { font-size: 11px; }
.ax { stroke: #555; } .gr { stroke: #eee; } .pt { cursor: pointer; }
.unit { fill: #666; stroke: #fff; stroke-width: .5; } .block { fill: #9ecae1; stroke: #3182bd; }
.note { color: #555; font-size: .9em; } .missing { color: #8a5a00; font-style: italic; }
.readout { font-family: ui-monospace, monospace; font-size: .85em; min-height: 1.2em; color: #333; }
table.kv { border-collapse: collapse; font-size: .85em; margin: 0 8px 8px 0; }
table.kv caption { font-weight: 600; text-align: left; }
table.kv th { text-align: left; padding: 1px 8px 1px 0; color: #555; font-weight: normal; }
table.grid { border-collapse: collapse; font-size: .8em; }
table.grid td, table.grid th { border: 1px solid #ddd; padding: 2px 5px; text-align: right; }
.control { position: sticky; top: 0; background: #f4f7fb; border: 1px solid #cdd; padding: 6px 10px;
  z-index: 2; margin: 10px 0; } .control input { width: 260px; vertical-align: middle; }
.snap-epoch { font-weight: 600; margin: 4px 0; }
img.px { image-rendering: pixelated; image-rendering: crisp-edges; border: 1px solid #ccc; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { margin: 0; width: 150px; font-size: .8em; } .card img { display: block; }
@media print {
  .control, nav, .readout { display: none; } body { max-width: none; }
  section { break-inside: avoid-page; } svg, img { break-inside: avoid; }
}
"""

SCRIPT = """
(function () {
  var slider = document.getElementById('epoch-slider');
  if (slider) {
    var epochs = JSON.parse(slider.dataset.epochs);
    var label = document.getElementById('epoch-label');
    var show = function () {
      var index = slider.value;
      document.querySelectorAll('.snap').forEach(function (block) {
        block.hidden = block.dataset.snap !== String(index);
      });
      label.textContent = 'epoch ' + epochs[index];
    };
    slider.addEventListener('input', show);
    show();
  }
  document.addEventListener('mouseover', function (event) {
    var target = event.target.closest ? event.target.closest('.tip') : null;
    var title = target ? target.querySelector('title') : null;
    var area = target ? target.closest('section') : null;
    var readout = area ? area.querySelector('.readout') : null;
    if (title && readout) { readout.textContent = title.textContent; }
  });
})();
"""

NAVIGATION = (("configuration", "configuration"), ("curves", "curves"), ("speed", "speed"),
              ("histograms", "histograms"), ("weights", "weights"), ("confusion", "confusion"),
              ("wrong", "errors"), ("diagram", "network"), ("explain", "explain"))


def _headline(run: RunData) -> str:
    last = run.records[-1] if run.records else {}
    accuracy = last.get("test_accuracy", run.meta.get("test_accuracy"))
    parts = [f"network {' → '.join(map(str, run.net.sizes))}", f"data {run.meta.get('dataset', '?')}"]
    if accuracy is not None:
        parts.append(f"test accuracy {100 * accuracy:.2f}%")
    if run.records:
        parts.append(f"{len(run.records)} epochs ({run.stop_reason or 'completed'})")
    return " · ".join(parts)


def build_report(run: RunData) -> str:
    """The whole HTML page of a loaded run."""
    preds = model.predictions(run)
    sections = [training.config_section(run), training.curves_section(run), training.speed_section(run),
                training.slider(run), training.histogram_section(run), training.weights_section(run),
                model.confusion_section(run, preds), model.wrong_section(run, preds),
                model.diagram_section(run), model.explain_section(run, preds)]
    links = "".join(f'<a href="#{key}">{esc(name)}</a>' for key, name in NAVIGATION)
    title = f"deltaprop report: {run.path.name}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><style>{STYLE}</style></head><body>'
            f'<h1>{esc(title)}</h1><p>{esc(_headline(run))}</p><nav>{links}</nav>'
            + "".join(sections) +
            f'<script>{SCRIPT}</script></body></html>\n')


def report_page(run_dir: str | os.PathLike[str], with_data: bool = True) -> str:
    """The report page of ``run_dir`` (``build_report`` of its loaded run), refused beyond
    ``MAX_REPORT_BYTES`` (the limits on run folders keep pages far below: a backstop)."""
    page = build_report(load_run(run_dir, with_data=with_data))
    size = len(page.encode("utf-8"))
    if size > MAX_REPORT_BYTES:
        raise ValueError(f"the report of {os.fspath(run_dir)} would be {format_bytes(size)}, more "
                         f"than the limit of {format_bytes(MAX_REPORT_BYTES)}")
    return page


def write_report(run_dir: str | os.PathLike[str], output: str | os.PathLike[str] | None = None,
                 with_data: bool = True) -> Path:
    """Write the report of ``run_dir`` to ``output`` (default ``run_dir/report.html``) atomically:
    a reader sees the old file or the whole new one. Returns the path written.

    Raises FileNotFoundError or ValueError when ``run_dir`` is not a run directory holding a model,
    ``ModelFormatError`` for a bad model file, OSError when the output cannot be written.
    """
    target = Path(run_dir) / REPORT_FILE if output is None else Path(output)
    if target.is_dir():
        raise IsADirectoryError(f"{os.fspath(target)} is a directory; -o names the report file to write")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{os.fspath(target.parent)}: no such folder to write {target.name} into")
    page = report_page(run_dir, with_data).encode("utf-8")
    with atomic_write(target) as file:
        file.write(page)
    return target
