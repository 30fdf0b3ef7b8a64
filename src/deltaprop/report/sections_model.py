"""The report's sections about the trained model: the confusion matrix, the most confidently wrong
examples, the network diagram and the explain trace of one example.

They need the run's data (loaded again from the model's ``data_spec``); without it each says so in
one line and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from deltaprop.explanation import explain
from deltaprop.limits import MAX_REPORT_CLASSES, MAX_REPORT_EXPLAIN_LAYERS, MAX_REPORT_IMAGE_PIXELS
from deltaprop.plots import confusion_matrix
from deltaprop.report.diagram import drawable, network_diagram
from deltaprop.report.images import data_uri, greys, img
from deltaprop.report.rundata import RunData
from deltaprop.report.sections_training import missing, section
from deltaprop.report.svg import esc, mix, num, svg

Array = np.ndarray
GREY_LOW, GREY_HIGH = (245, 245, 245), (140, 140, 140)
RED_LOW, RED_HIGH = (255, 255, 255), (203, 24, 29)
WRONG_SHOWN = 12


@dataclass
class Predictions:
    """The model's outputs on one split: its name, X, labels, outputs a^L, predicted labels."""

    split: str
    X: Array
    y: Array
    outputs: Array
    predicted: Array


def predictions(run: RunData) -> Predictions | None:
    """Outputs on the test split (else validation, else train), or None without data."""
    if run.dataset is None:
        return None
    for name in ("test", "validation", "train"):
        split = getattr(run.dataset, name)
        if split.X.shape[0]:
            outputs = run.net.feedforward(split.X)
            return Predictions(name, split.X, split.y, outputs, np.argmax(outputs, axis=1))
    return None


def no_data(run: RunData, what: str) -> str:
    """The line saying why ``what`` could not be drawn."""
    return missing(f"No {what}: the data could not be loaded ({run.problems.get('data', 'no rows')}).")


def confusion_svg(matrix: Array) -> str:
    """The confusion matrix as SVG: the diagonal in grey, errors on their own red scale."""
    n = matrix.shape[0]
    cell = 34 if n <= 12 else max(8, 400 // n)
    size, offset = n * cell, 40
    worst = max(int((matrix - np.diag(np.diag(matrix))).max()), 1)
    parts = [f'<text x="{offset + size / 2}" y="12" class="al">predicted</text>',
             f'<text x="10" y="{offset + size / 2}" class="al" transform="rotate(-90 10 '
             f'{offset + size / 2})">true</text>']
    for i in range(n):
        total = int(matrix[i].sum())
        for j in range(n):
            count = int(matrix[i, j])
            if i == j:
                colour = mix(GREY_LOW, GREY_HIGH, count / max(total, 1))
            else:
                colour = mix(RED_LOW, RED_HIGH, count / worst) if count else "#ffffff"
            share = f" ({100 * count / total:.1f}% of true {i})" if total else ""
            tip = esc(f"true {i}, predicted {j}: {count}{share}")
            x, y = offset + j * cell, offset + i * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{colour}" '
                         f'class="{"diag" if i == j else "off"} tip"><title>{tip}</title></rect>')
            if cell >= 20 and count:
                weight = "bold" if i != j else "normal"
                parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" class="cm" '
                             f'font-weight="{weight}" text-anchor="middle">{count}</text>')
        if cell >= 14:
            parts.append(f'<text x="{offset - 4}" y="{offset + i * cell + cell / 2 + 4}" class="tk" '
                         f'text-anchor="end">{i}</text><text x="{offset + i * cell + cell / 2}" '
                         f'y="{offset - 4}" class="tk" text-anchor="middle">{i}</text>')
    return svg(parts, size + offset + 4, size + offset + 4, "confusion matrix")


def confusion_section(run: RunData, preds: Predictions | None) -> str:
    """The confusion matrix, errors standing out, and the accuracy it gives."""
    title = "Confusion matrix"
    if preds is None:
        return section("confusion", title, no_data(run, "confusion matrix"))
    if run.net.sizes[-1] > MAX_REPORT_CLASSES:  # never an n x n matrix of a huge output layer
        errors = int(np.count_nonzero(preds.y != preds.predicted))
        return section("confusion", title, missing(
            f"{run.net.sizes[-1]:,} classes: the matrix is drawn for at most {MAX_REPORT_CLASSES}. On the "
            f"{preds.split} data ({preds.y.size:,} rows): {errors:,} errors, accuracy "
            f"{100 * (1 - errors / max(preds.y.size, 1)):.2f}%."))
    matrix = confusion_matrix(preds.y, preds.predicted, run.net.sizes[-1])
    errors = int(matrix.sum() - np.trace(matrix))
    note = (f"On the {preds.split} data ({preds.y.size:,} rows): {errors:,} errors, accuracy "
            f"{100 * (1 - errors / max(preds.y.size, 1)):.2f}%. Correct predictions (the diagonal) in "
            f"grey; errors in red, darker the more of them (their own scale, up to the largest "
            f"off-diagonal count).")
    return section("confusion", title, f'<div class="row">{confusion_svg(matrix)}</div>'
                   '<p class="readout" aria-live="polite">Point at a cell to read it.</p>', note)


def _top_outputs(outputs: Array, count: int = 3) -> str:
    best = np.argsort(outputs)[::-1][:count]
    return ", ".join(f"{int(k)}: {num(float(outputs[k]), 3)}" for k in best)


def wrong_section(run: RunData, preds: Predictions | None) -> str:
    """The wrongly classified examples the model was surest of, with their outputs."""
    title = "Most confidently wrong examples"
    if preds is None:
        return section("wrong", title, no_data(run, "examples"))
    wrong = np.flatnonzero(preds.predicted != preds.y)
    if wrong.size == 0:
        return section("wrong", title, missing(f"No example of the {preds.split} data is misclassified."))
    confidence = preds.outputs[wrong, preds.predicted[wrong]]
    chosen = wrong[np.argsort(-confidence, kind="stable")[:WRONG_SHOWN]]
    softmax = run.net.activation_names[-1] == "softmax"
    symbol, shape = "p" if softmax else "a", run.image_shape
    cards = []
    for row in chosen:
        label, guess = int(preds.y[row]), int(preds.predicted[row])
        picture = img(data_uri(greys(preds.X[row].reshape(shape))), f"{preds.split} row {row}", 84) \
            if shape is not None and shape[0] * shape[1] <= MAX_REPORT_IMAGE_PIXELS else ""
        cards.append(f'<figure class="card">{picture}<figcaption><b>true {label}, predicted {guess}</b>'
                     f'<br>{symbol}({guess}) = {num(float(preds.outputs[row, guess]), 3)}, '
                     f'{symbol}({label}) = {num(float(preds.outputs[row, label]), 3)}'
                     f'<br><small>row {int(row)}; top: {esc(_top_outputs(preds.outputs[row]))}</small>'
                     f'</figcaption></figure>')
    kind = "probabilities (softmax)" if softmax else "output activations (not normalized)"
    note = (f"The {len(chosen)} {preds.split} examples of {wrong.size:,} misclassified whose wrong "
            f"prediction had the largest output; numbers are the {kind}.")
    return section("wrong", title, f'<div class="cards">{"".join(cards)}</div>', note)


def diagram_section(run: RunData) -> str:
    """The network as SVG: every weight when small enough, blocks otherwise."""
    if drawable(run.net):
        note = ("Every weight drawn: red positive, blue negative, wider and darker the larger |w| (one "
                "scale for the whole net). Point at a unit for its bias.")
    else:
        note = "Too large to draw each weight: one block per layer, with its weights summarized."
    return section("diagram", "The network", f'<div class="row">{network_diagram(run.net)}</div>', note)


def _array(values: Any) -> Array:
    """A trace's list of numbers (None where not finite) as a float array (NaN for None)."""
    if values is None:
        return np.full(0, np.nan)
    return np.array(values, dtype=np.float64).ravel()  # None becomes NaN


def _norm(values: Any) -> str:
    array = _array(values)
    return num(float(np.linalg.norm(array))) if array.size else "–"


def _vector(values: Any, limit: int = 10) -> str:
    array = _array(values)
    if array.size == 0:
        return "–"
    if array.size > limit:
        return f"({array.size} values, |max| {num(float(np.abs(array).max()), 3)})"
    return "[" + ", ".join(num(float(v), 3) for v in array) + "]"


def explain_table(trace: dict[str, Any]) -> str:
    """Per layer: norms of z, a, σ'(z), δ, ∂C/∂b, ∂C/∂w and w; small vectors in full."""
    head = ("<tr><th>layer</th><th>units</th><th>‖z‖</th><th>‖a‖</th><th>‖σ'(z)‖</th><th>‖δ‖</th>"
            "<th>‖∂C/∂b‖ (BP3)</th><th>‖∂C/∂w‖ (BP4)</th><th>‖w‖</th><th>δ</th><th>a</th></tr>")
    rows = []
    for index, layer in enumerate(trace.get("layers", [])):
        cells = [str(index + 1), str(_array(layer["a"]).size)]
        cells += [_norm(layer.get(key)) for key in ("z", "a", "sigma_prime", "delta", "nabla_b",
                                                        "nabla_w", "weights")]
        cells += [_vector(layer.get("delta")), _vector(layer.get("a"))]
        rows.append("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in cells) + "</tr>")
    return f'<table class="grid">{head}{"".join(rows)}</table>'


def explain_section(run: RunData, preds: Predictions | None) -> str:
    """The BP1-BP4 trace of one example (``deltaprop.explanation.explain``), compactly."""
    title = "One example through backpropagation"
    if preds is None:
        return section("explain", title, no_data(run, "example to explain"))
    if run.net.num_layers > MAX_REPORT_EXPLAIN_LAYERS:
        return section("explain", title, missing(
            f"{run.net.num_layers:,} layers: the trace is shown for at most {MAX_REPORT_EXPLAIN_LAYERS}; "
            f"'deltaprop explain' prints it."))
    wrong = np.flatnonzero(preds.predicted != preds.y)
    row = int(wrong[np.argmax(preds.outputs[wrong, preds.predicted[wrong]])]) if wrong.size else 0
    try:
        trace = explain(run.net, preds.X[row], int(preds.y[row])).to_dict()
    except (ValueError, TypeError) as error:
        return section("explain", title, missing(f"explain failed: {error}"))
    label = "its most confidently wrong example" if wrong.size else "its first example"
    note = (f"{preds.split.capitalize()} row {row} ({label}), label {int(preds.y[row])}: its own cost "
            f"C_x = {num(trace.get('cost_value'))} ({esc(trace.get('cost', ''))}); the partial derivatives "
            f"checked against central finite differences agree to a relative error of at most "
            f"{num(trace.get('finite_difference_max_error'), 3)}. "
            f"'deltaprop explain' prints every number.")
    callouts = "".join(f"<li>{esc(text)}</li>" for text in trace.get("callouts") or [])
    update = trace.get("sgd_update") or {}
    if update:
        callouts += (f"<li>One SGD step on this example alone (η = {num(update.get('eta'))}) would take "
                     f"its cost from {num(update.get('cost_before'))} to {num(update.get('cost_after'))}."
                     f"</li>")
    return section("explain", title, explain_table(trace) + (f"<ul>{callouts}</ul>" if callouts else ""),
                   note)
