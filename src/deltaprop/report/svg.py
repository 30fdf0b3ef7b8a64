"""Inline SVG figures drawn by hand: line charts with values on hover, histograms, heat-map cells.

Hand-made SVG keeps the report small, sharp at any zoom and in print, and readable offline with no
library: every data point carries a ``<title>`` (the browser's tooltip) that the
page's small script shows under the chart on hover.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 26, 36


def esc(value: object) -> str:
    """``value`` as text safe inside HTML or SVG, quotes included."""
    return html.escape(str(value), quote=True)


def num(value: float | None, digits: int = 4) -> str:
    """A short number: 4 significant digits; '–' for None or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values spanning [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


class Axes:
    """The mapping of data coordinates to the pixels of a ``WIDTH`` x ``HEIGHT`` chart."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], log: bool = False) -> None:
        self.log = log
        self.x0, self.x1 = x_range if x_range[1] > x_range[0] else (x_range[0] - 1, x_range[0] + 1)
        y0, y1 = (math.log10(v) for v in y_range) if log else y_range
        if y1 <= y0:
            y0, y1 = y0 - (abs(y0) * 0.1 or 1), y1 + (abs(y1) * 0.1 or 1)
        self.y0, self.y1 = y0, y1

    def x(self, value: float) -> float:
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return self.row(math.log10(value) if self.log else value)

    def row(self, scaled: float) -> float:
        """The pixel row of a value on the axis's own scale (its log10 on a log axis)."""
        return HEIGHT - BOTTOM - (scaled - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)

    def frame(self, title: str, x_label: str) -> list[str]:
        """The title, the axes, their ticks and labels."""
        w, h = WIDTH, HEIGHT
        parts = [f'<text x="{LEFT}" y="16" class="ct">{esc(title)}</text>',
                 f'<line x1="{LEFT}" y1="{h - BOTTOM}" x2="{w - RIGHT}" y2="{h - BOTTOM}" class="ax"/>',
                 f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{h - BOTTOM}" class="ax"/>',
                 f'<text x="{(LEFT + w - RIGHT) / 2}" y="{h - 4}" class="al">{esc(x_label)}</text>']
        for tick in _ticks(self.x0, self.x1, 6):
            parts.append(f'<text x="{self.x(tick):.1f}" y="{h - BOTTOM + 14}" class="tk" '
                         f'text-anchor="middle">{num(tick, 3)}</text>')
        for tick in _ticks(self.y0, self.y1):
            py = self.row(tick)
            label = num(10 ** tick, 2) if self.log else num(tick, 3)
            parts.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{w - RIGHT}" y2="{py:.1f}" class="gr"/>'
                         f'<text x="{LEFT - 4}" y="{py + 4:.1f}" class="tk" '
                         f'text-anchor="end">{label}</text>')
        return parts


Series = tuple[str, Sequence[float], Sequence[float | None]]


def _finite_points(xs: Sequence[float], ys: Sequence[float | None], log: bool) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)
            if y is not None and math.isfinite(y) and (y > 0 or not log)]


def line_chart(series: Sequence[Series], title: str, x_label: str = "epoch", log: bool = False,
               percent: bool = False) -> str:
    """An SVG line chart of named (xs, ys) series (None values skipped), a legend, and a point per
    value whose tooltip (``<title>``) gives the series, x and y; y on a log scale when ``log``."""
    drawn = [(name, _finite_points(xs, ys, log)) for name, xs, ys in series]
    drawn = [(name, points) for name, points in drawn if points]
    if not drawn:
        return f'<p class="missing">{esc(title)}: no values recorded.</p>'
    xs = [x for _, points in drawn for x, _ in points]
    ys = [y for _, points in drawn for _, y in points]
    axes = Axes((min(xs), max(xs)), (min(ys), max(ys)), log)
    parts = axes.frame(title, x_label)
    for index, (name, points) in enumerate(drawn):
        colour = PALETTE[index % len(PALETTE)]
        path = " ".join(f"{axes.x(x):.1f},{axes.y(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
        for x, y in points:
            value = f"{100 * y:.2f}%" if percent else num(y)
            tip = esc(f"{name}, {x_label} {num(x)}: {value}")
            parts.append(f'<circle cx="{axes.x(x):.1f}" cy="{axes.y(y):.1f}" r="3" fill="{colour}" '
                         f'class="pt tip"><title>{tip}</title></circle>')
        ly = TOP + 4 + 14 * index
        parts.append(f'<rect x="{WIDTH - RIGHT - 120}" y="{ly}" width="10" height="3" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT - 106}" y="{ly + 5}" class="lg">{esc(name)}</text>')
    return svg(parts, WIDTH, HEIGHT, title)


def svg(parts: Sequence[str], width: int, height: int, label: str) -> str:
    """An inline <svg> element of ``parts``, scaling to the width available."""
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>")


def histogram_svg(counts: np.ndarray, edges: np.ndarray, title: str, colour: str = "#4c72b0",
                  width: int = 220, height: int = 130, marked: np.ndarray | None = None,
                  marked_colour: str = "#222222", marked_label: str = "") -> str:
    """An SVG histogram of ``counts`` over ``edges``, each bar's tooltip giving its range and count,
    with the range's ends (and 0 when inside) marked under it; bars where ``marked`` is true are
    drawn in ``marked_colour`` and their tooltips say ``marked_label``."""
    total = int(counts.sum())
    top = max(int(counts.max()), 1)
    left, bottom, head = 6, 22, 18
    span = float(edges[-1] - edges[0]) or 1.0
    scale_x = (width - 2 * left) / span
    parts = [f'<text x="{left}" y="12" class="ct">{esc(title)}</text>']
    flags = np.zeros(len(counts), bool) if marked is None else np.asarray(marked, bool)
    for count, low, high, flag in zip(counts, edges[:-1], edges[1:], flags, strict=True):
        if not count:
            continue
        bar = (height - bottom - head) * int(count) / top
        x = left + (float(low) - float(edges[0])) * scale_x
        note = f", {marked_label}" if flag and marked_label else ""
        tip = esc(f"[{num(float(low))}, {num(float(high))}): {int(count)} of {total}{note}")
        parts.append(f'<rect x="{x:.2f}" y="{height - bottom - bar:.2f}" '
                     f'width="{max((float(high) - float(low)) * scale_x - 0.4, 0.5):.2f}" '
                     f'height="{bar:.2f}" fill="{marked_colour if flag else colour}" class="tip">'
                     f'<title>{tip}</title></rect>')
    parts.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" '
                 f'class="ax"/>')
    marks = [(float(edges[0]), "start"), (float(edges[-1]), "end")]
    if edges[0] < 0 < edges[-1]:
        marks.append((0.0, "middle"))
    for value, anchor in marks:
        x = left + (value - float(edges[0])) * scale_x
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 13}" class="tk" '
                     f'text-anchor="{anchor}">{num(value, 3)}</text>')
    return svg(parts, width, height, title)


def mix(colour_low: tuple[int, int, int], colour_high: tuple[int, int, int], t: float) -> str:
    """The colour a fraction ``t`` (0..1) of the way from one RGB colour to another, as #rrggbb."""
    t = min(max(t, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(colour_low, colour_high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"
