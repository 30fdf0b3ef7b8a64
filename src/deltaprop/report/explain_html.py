"""One example's trace (``deltaprop.explain``) as HTML, for a notebook: per layer, z, a, σ'(z), δ,
∂C/∂b and ∂C/∂w as tables beside the equation that made each (the feedforward pass, BP1 or BP2,
BP3, BP4) with their finite-difference check; then the whole check, the SGD step, the book's sum over
paths for one weight and the callouts.

Vectors are table rows, one column per unit j; a matrix ∂C/∂w has a row per j and a column per k.
At most ``SHOWN`` units (rows, columns) are written out, the rest counted. Numbers have 4
significant digits; ``Explanation.to_dict()`` has them all.
"""

from __future__ import annotations

import numpy as np

from deltaprop.explanation import Explanation, LayerTrace
from deltaprop.report.svg import esc, num
from deltaprop.report.views import view

SHOWN = 10  # units of a vector, rows and columns of a matrix, written out
LEFT = ' style="text-align: left"'


def _up(symbol: str, index: int | str) -> str:
    """``symbol`` with a superscript ``index`` (the book's layer index), as HTML."""
    return f"{symbol}<sup>{index}</sup>"


def _cells(values: np.ndarray) -> str:
    """The first ``SHOWN`` numbers of ``values`` as cells, then one cell counting the others."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    cells = "".join(f"<td>{num(float(v))}</td>" for v in flat[:SHOWN])
    return cells + (f"<td>… {flat.size - SHOWN} more</td>" if flat.size > SHOWN else "")


def _row(name: str, equation: str, values: np.ndarray) -> str:
    return f"<tr><th{LEFT}>{name}</th><td{LEFT}>{equation}</td>{_cells(values)}</tr>"


def _units_head(units: int, label: str = "j") -> str:
    columns = "".join(f"<th>{label} = {j}</th>" for j in range(min(units, SHOWN)))
    return f"<tr><th></th><th{LEFT}>equation</th>{columns}{'<th></th>' if units > SHOWN else ''}</tr>"


def _layer_table(trace: Explanation, index: int) -> str:
    """Layer l's vectors, each beside its equation: z, a, σ'(z) (∇_a C at the output), δ, ∂C/∂b."""
    layer, t, last = index + 1, trace.layers[index], index == len(trace.layers) - 1
    activation = esc(trace.activations[index])
    rows = [_row(_up("z", layer), f"{_up('w', layer)} {_up('a', layer - 1)} + {_up('b', layer)} "
                 "(feedforward)", t.z),
            _row(_up("a", layer), f"{activation}({_up('z', layer)})", t.a)]
    if t.sigma_prime is not None:
        rows.append(_row(f"σ'({_up('z', layer)})", f"the derivative of {activation} at {_up('z', layer)}",
                         t.sigma_prime))
    if last:
        rows.append(_row("∇<sub>a</sub>C", f"∂C/∂{_up('a', 'L')}, from the {esc(trace.cost)} cost",
                         trace.grad_a))
        equation = ("BP1: ∇<sub>a</sub>C ⊙ σ'(z<sup>L</sup>)" if t.sigma_prime is not None else
                    "BP1: the softmax Jacobian (diag(a) − a aᵀ) times ∇<sub>a</sub>C")
    else:
        equation = (f"BP2: (({_up('w', layer + 1)})ᵀ {_up('δ', layer + 1)}) ⊙ "
                    f"σ'({_up('z', layer)})")
    rows += [_row(_up("δ", layer), equation, t.delta),
             _row(f"∂C/∂{_up('b', layer)}", f"BP3: {_up('δ', layer)}", t.nabla_b)]
    return f'<table class="grid">{_units_head(t.z.size)}{"".join(rows)}</table>'


def _weight_table(t: LayerTrace, layer: int) -> str:
    """BP4's ∂C/∂w^l_jk = a^{l-1}_k δ^l_j: a row per unit j, a column per input k."""
    rows_shown = min(t.nabla_w.shape[0], SHOWN)
    head = "".join(f"<th>k = {k}</th>" for k in range(min(t.nabla_w.shape[1], SHOWN)))
    more = "<th></th>" if t.nabla_w.shape[1] > SHOWN else ""
    body = "".join(f"<tr><th>j = {j}</th>{_cells(t.nabla_w[j])}</tr>" for j in range(rows_shown))
    if t.nabla_w.shape[0] > SHOWN:
        body += f'<tr><th colspan="2">… {t.nabla_w.shape[0] - SHOWN} more rows</th></tr>'
    caption = (f"BP4: ∂C/∂{_up('w', layer)}<sub>jk</sub> = {_up('a', layer - 1)}<sub>k</sub> "
               f"{_up('δ', layer)}<sub>j</sub>")
    return (f'<table class="grid"><caption{LEFT}>{caption}</caption><tr><th></th>{head}{more}</tr>'
            f"{body}</table>")


def _check_line(t: LayerTrace) -> str:
    return (f'<p class="note">Checked against central finite differences ({t.checked:,} partials of '
            f"this layer): relative error {num(t.weight_error, 3)} for ∂C/∂w, {num(t.bias_error, 3)} "
            f"for ∂C/∂b.</p>")


def _layer_block(trace: Explanation, index: int) -> str:
    layer, t = index + 1, trace.layers[index]
    kind = "output layer" if index == len(trace.layers) - 1 else "hidden layer"
    title = f"Layer {layer} ({kind}): {t.z.size} {trace.activations[index]} units"
    return (f"<h3>{esc(title)}</h3>{_layer_table(trace, index)}<div style=\"margin-top: 6px\">"
            f"{_weight_table(t, layer)}</div>{_check_line(t)}")


def _summary(trace: Explanation) -> str:
    """The finite-difference check, the engine's agreement, the SGD step and the sum over paths."""
    fd = trace.finite_difference
    sampled = " (a seeded sample)" if fd.get("sampled") else ""
    items = [f"Every partial derivative checked{sampled}: {fd.get('checked', 0):,} of "
             f"{fd.get('parameters', 0):,} against central finite differences (ε = {num(fd.get('eps'))}); "
             f"largest relative error {num(trace.finite_difference_max_error, 3)}.",
             f"BP1-BP4 done by hand with the cost and activation objects agree with the engine "
             f"(Network.gradient) to {num(trace.engine_agreement, 3)}.",
             f"One SGD step on this example alone (η = {num(trace.eta)}) takes its cost from "
             f"{num(trace.cost_value)} to {num(trace.cost_after_update)}."]
    paths = trace.path_sum
    if paths is not None:
        weight = f"∂C/∂{_up('w', paths.layer)}<sub>{paths.j},{paths.k}</sub>"
        total = "not enumerated" if paths.value is None else f"sum {num(paths.value)}"
        items.append(f"The big picture: {weight} as a sum over {paths.paths:,} paths to the cost of "
                     f"the products of the rates along each: {total}; BP4 gives {num(paths.bp4)}.")
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def explanation_html(trace: Explanation) -> str:
    """The trace of one example as HTML (see the module docstring)."""
    head = (f"<p>One example through a {esc(trace.sizes)} network, {esc(trace.cost)} cost: its own "
            f"cost C<sub>x</sub> = {num(trace.cost_value)}.</p>"
            f'<table class="grid">{_units_head(trace.x.size, "k")}'
            f'{_row(_up("a", 0), "x, the input", trace.x)}'
            f'{_row("y", "the target", trace.y)}</table>')
    layers = "".join(_layer_block(trace, index) for index in range(len(trace.layers)))
    callouts = "".join(f"<li>{esc(text)}</li>" for text in trace.callouts)
    notes = f"<h3>What the chapter says about these numbers</h3><ul>{callouts}</ul>" if callouts else ""
    return view(head + layers + "<h3>Checks</h3>" + _summary(trace) + notes)
