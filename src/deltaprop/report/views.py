"""The HTML views of deltaprop's objects that a notebook shows, drawn by the report's renderers
(``diagram``, ``svg``): a ``Network`` and a ``History``; ``explain_html`` draws an explain trace.

Each view is inline SVG, tables and text in a ``<div class="deltaprop-view">`` whose ``<style>`` is
the report page's, scoped to that div: readable without JavaScript, loading nothing. Every text that
comes from data (labels, classes) is escaped.
"""

from __future__ import annotations

from typing import Any

from deltaprop.history import History
from deltaprop.limits import MAX_CHART_POINTS, short_list, thin
from deltaprop.network import Network
from deltaprop.report.diagram import drawable, network_diagram
from deltaprop.report.page import STYLE
from deltaprop.report.sections_training import key_values, shown_layers
from deltaprop.report.svg import Series, esc, line_chart

SCOPE = "deltaprop-view"
SPLITS = ("train", "validation", "test")


def scoped_style(css: str, scope: str = SCOPE) -> str:
    """The top-level rules of ``css`` with each selector put under ``.scope`` (``:root`` and ``body``
    become ``.scope`` itself), so that they style one view and not the notebook around it; at-rules
    (``@media print``: the page's controls) are left out."""
    rules, depth, start = [], 0, 0
    for index, char in enumerate(css):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "}" and depth == 0:
            rules.append(css[start:index + 1].strip())
            start = index + 1
    scoped = []
    for rule in rules:
        selectors, body = rule.split("{", 1)
        if selectors.strip().startswith("@"):
            continue
        names = [name.strip() for name in selectors.split(",")]
        scoped.append(", ".join(f".{scope}" if name in (":root", "body") else f".{scope} {name}"
                                for name in names) + " {" + body)
    return "\n".join(scoped)


VIEW_STYLE = scoped_style(STYLE) + (f"\n.{SCOPE} {{ max-width: none; margin: 0; padding: 4px 0; }}"
                                   f"\n.{SCOPE} .charts svg {{ width: 400px; }}")


def view(body: str) -> str:
    """``body`` (HTML) in a ``deltaprop-view`` div with the report's styles scoped to it."""
    return f'<div class="{SCOPE}"><style>{VIEW_STYLE}</style>{body}</div>'


# -- Network ---------------------------------------------------------------------------------------

def network_html(net: Network) -> str:
    """A network as HTML: the report's diagram (every weight when small, blocks when large) beside
    its sizes, activations, cost, dtype, parameter count and classes."""
    facts = {"sizes": " → ".join(map(str, net.sizes)), "activations": ", ".join(net.activation_names),
             "cost": net.cost_function.name, "dtype": net.dtype.name,
             "parameters": f"{net.num_parameters:,}"}
    if net.classes is not None:
        facts["classes"] = short_list(net.classes.tolist(), 10)
    if drawable(net):
        note = ("Every weight drawn: red positive, blue negative, wider and darker the larger |w|; "
                "hover over a unit for its bias.")
    else:
        note = "Too large to draw each weight: one block per layer, its weights summarized."
    return view(f'<div class="row">{network_diagram(net)}{key_values("Network", facts)}</div>'
                f'<p class="note">{esc(note)}</p>')


# -- History ---------------------------------------------------------------------------------------

def _column(records: list[dict[str, Any]], key: str) -> list[Any]:
    """The values of ``key`` in at most ``MAX_CHART_POINTS`` records (evenly thinned, the last kept)."""
    return [records[i].get(key) for i in thin(len(records), MAX_CHART_POINTS)]


def _per_layer(records: list[dict[str, Any]], key: str) -> list[Series]:
    """One series per layer of the per-layer field ``key`` (learning speed), [] when not recorded."""
    rows = _column(records, key)
    layers = max((len(row) for row in rows if row), default=0)
    epochs = _column(records, "epoch")
    return [(f"layer {i + 1}" + (" (output)" if i == layers - 1 else ""), epochs,
             [row[i] if row and i < len(row) else None for row in rows]) for i in shown_layers(layers)]


def history_charts(records: list[dict[str, Any]]) -> list[str]:
    """SVG charts of the records: cost and accuracy per split, the learning speed per layer when
    recorded (log scale); only those with values."""
    epochs = _column(records, "epoch")
    charts = []
    for measure, percent in (("cost", False), ("accuracy", True)):
        series = [(split, epochs, _column(records, f"{split}_{measure}")) for split in SPLITS]
        if any(value is not None for _, _, values in series for value in values):
            charts.append(line_chart(series, f"{measure} per epoch", percent=percent))
    speed = _per_layer(records, "learning_speed")
    if speed:
        charts.append(line_chart(speed, "learning speed ‖∂C/∂b^l‖ (log scale)", log=True))
    return charts


def history_html(history: History) -> str:
    """A history as HTML: its one line (its repr) and its charts."""
    charts = history_charts(history.records)
    return view(f"<p>{esc(repr(history))}</p>" + (
        f'<div class="row charts">{"".join(charts)}</div>' if charts else ""))
