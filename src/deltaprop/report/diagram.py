"""The network drawn as SVG: every unit and weight when the net is small enough, blocks otherwise.

Drawn in full, a weight is an edge coloured by its sign (red positive, blue negative) and drawn
wider and more opaque the larger its magnitude, on one scale for the whole network; units are
circles whose tooltips give their bias. A larger network is drawn as one block per layer, with each
layer's count of weights, mean |w| and share of positive weights on the arrow into it.
"""

from __future__ import annotations

import math

import numpy as np

from deltaprop.network import Network
from deltaprop.report.svg import esc, num, svg

MAX_UNITS_DRAWN = 80  # units of the widest layer drawn one by one
MAX_EDGES_DRAWN = 4000
LEVELS = 8  # magnitude classes of the edges
POSITIVE, NEGATIVE = "#b2182b", "#2166ac"


def drawable(net: Network) -> bool:
    """Whether every unit and weight of ``net`` is drawn (else blocks)."""
    edges = sum(n_in * n_out for n_in, n_out in net.layer_shapes())
    return max(net.sizes) <= MAX_UNITS_DRAWN and edges <= MAX_EDGES_DRAWN


def network_diagram(net: Network) -> str:
    """The SVG diagram of ``net``: ``full_diagram`` or ``block_diagram``."""
    return full_diagram(net) if drawable(net) else block_diagram(net)


def _columns(net: Network, width: int) -> list[float]:
    return [40 + i * (width - 80) / max(len(net.sizes) - 1, 1) for i in range(len(net.sizes))]


def full_diagram(net: Network, width: int = 640) -> str:
    """Every unit and weight of ``net``: edges coloured by sign, sized by magnitude."""
    height = int(max(180, min(9 * max(net.sizes) + 40, 760)))
    xs = _columns(net, width)
    ys = [[20 + (height - 40) / max(units, 1) * (j + 0.5) for j in range(units)] for units in net.sizes]
    parts = _edges(net, xs, ys)
    radius = max(1.5, min(6.0, (height - 40) / max(net.sizes) / 2.5))
    for layer, units in enumerate(net.sizes):
        for j in range(units):
            tip = (f"input {j}" if layer == 0 else
                   f"layer {layer} unit {j}: bias {num(float(net.biases[layer - 1][j]))}")
            parts.append(f'<circle cx="{xs[layer]:.1f}" cy="{ys[layer][j]:.1f}" r="{radius:.1f}" '
                         f'class="unit tip"><title>{esc(tip)}</title></circle>')
        parts.append(f'<text x="{xs[layer]:.1f}" y="{height - 6}" class="tk" text-anchor="middle">'
                     f'{esc(_layer_name(net, layer))}</text>')
    return svg(parts, width, height, f"network {list(net.sizes)}, every weight drawn")


def _edges(net: Network, xs: list[float], ys: list[list[float]]) -> list[str]:
    """Every weight as a line, grouped into ``LEVELS`` magnitude classes per sign (one SVG path
    each, weakest first so the strongest lie on top): the width and opacity grow with |w|."""
    largest = max(float(np.abs(w).max()) for w in net.weights) or 1.0
    strokes: dict[tuple[int, bool], list[str]] = {}
    for layer, w in enumerate(net.weights):
        levels = np.minimum((np.abs(w) / largest * LEVELS).astype(int), LEVELS - 1)
        for j, k in np.ndindex(*w.shape):
            strokes.setdefault((int(levels[j, k]), bool(w[j, k] > 0)), []).append(
                f"M{xs[layer]:.0f} {ys[layer][k]:.1f}L{xs[layer + 1]:.0f} {ys[layer + 1][j]:.1f}")
    parts = []
    for (level, positive), segments in sorted(strokes.items()):
        t = (level + 0.5) / LEVELS
        sign, colour = ("positive", POSITIVE) if positive else ("negative", NEGATIVE)
        parts.append(f'<path d="{"".join(segments)}" fill="none" stroke="{colour}" '
                     f'stroke-width="{0.2 + 2.8 * t:.2f}" stroke-opacity="{0.08 + 0.8 * t:.2f}">'
                     f'<title>{len(segments)} {sign} weights with |w| in '
                     f'[{num(largest * level / LEVELS, 2)}, {num(largest * (level + 1) / LEVELS, 2)}]'
                     f'</title></path>')
    return parts


def _layer_name(net: Network, layer: int) -> str:
    if layer == 0:
        return f"{net.sizes[0]} inputs"
    return f"{net.sizes[layer]} {net.activation_names[layer - 1]}"


def block_diagram(net: Network, width: int = 640, height: int = 220) -> str:
    """One block per layer, its height growing with the log of its size, and per layer of weights
    their count, mean |w| and share of positive weights."""
    xs = _columns(net, width)
    tallest = math.log10(max(net.sizes) + 1)
    parts = []
    for layer, units in enumerate(net.sizes):
        h = 30 + (height - 90) * math.log10(units + 1) / tallest
        top = (height - 30 - h) / 2
        parts.append(f'<rect x="{xs[layer] - 18:.1f}" y="{top:.1f}" width="36" height="{h:.1f}" '
                     f'class="block"><title>{esc(_layer_name(net, layer))}</title></rect>'
                     f'<text x="{xs[layer]:.1f}" y="{height - 10}" class="tk" text-anchor="middle">'
                     f'{esc(_layer_name(net, layer))}</text>')
    for layer, w in enumerate(net.weights):
        middle = (xs[layer] + xs[layer + 1]) / 2
        share = float(np.mean(w > 0))
        colour = POSITIVE if share >= 0.5 else NEGATIVE
        parts.append(f'<line x1="{xs[layer] + 20:.1f}" y1="{(height - 30) / 2:.1f}" '
                     f'x2="{xs[layer + 1] - 22:.1f}" y2="{(height - 30) / 2:.1f}" stroke="{colour}" '
                     f'stroke-width="3" marker-end="url(#arrow)"/>')
        for row, text in enumerate((f"{w.size:,} weights", f"mean |w| {num(float(np.abs(w).mean()), 3)}",
                                    f"{100 * share:.0f}% positive")):
            parts.append(f'<text x="{middle:.1f}" y="{(height - 30) / 2 - 30 + 13 * row:.1f}" class="tk" '
                         f'text-anchor="middle">{esc(text)}</text>')
    marker = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
              'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>')
    return svg([marker, *parts], width, height, f"network {list(net.sizes)} as blocks")
