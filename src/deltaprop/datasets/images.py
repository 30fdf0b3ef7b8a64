"""Preparing a picture of a digit the way MNIST and the 8x8 digits were made.

A photo or a scan of a handwritten digit is not what a network trained on MNIST saw: the paper is
unevenly lit, the ink may be dark on light, the digit may sit anywhere at any size. MNIST's digits
were cropped to their ink, scaled to fit a 20x20 box keeping their aspect ratio (anti-aliased: gray
levels at the edges), and placed in a 28x28 field so that their centre of mass is at its centre
(row and column 14, as measured on the MNIST test images). The 8x8 digits of scikit-learn (UCI
optdigits) were scaled to fill a 32x32 bitmap, and each 4x4 block's count of ink pixels (0..16) is
one pixel, read here as count / 16 in [0, 1].

:func:`prepare_digit` does the same to a gray image in [0, 1]:

1. **Ink from an uneven background.** At most :data:`WORK_SIDE` pixels a side, lightly smoothed,
   the paper's brightness is fitted as a smooth surface (:func:`paper_surface`: a quadratic in row
   and column, refitted without the pixels far on the ink's side of it) and taken away: dark ink
   on light paper is ``1 - gray / paper``, light ink on dark paper ``gray - paper``. Which of the
   two the picture is, is decided from the ink being the minority: its tail pulls the mean of the
   gray levels (around a plain fit) away from their median (``invert="auto"``); or it is given
   (``"yes"``: dark ink on light paper, ``"no"``: light ink on dark). So leave some paper around
   the digit: a crop tight enough for the ink to cover most of the picture fools both. Images of
   at most :data:`SMALL_SIDE` pixels a side (already digit-sized) take their border's median as
   background.
2. **Otsu's threshold** on the ink separates strokes from paper; the ink is rescaled so that the
   paper is 0 and a typical stroke 1; pieces of ink smaller than a tenth of the largest are noise
   and dropped, and so is everything farther from the strokes than their anti-aliased edge.
3. **Crop, fit, centre** as above: :data:`LAYOUTS`.

A picture with no contrast at all (a blank page) gives an all-zero input.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LAYOUTS", "Layout", "area_resize", "ink_map", "layout_for", "otsu_threshold",
           "paper_surface", "preparation_bytes", "prepare_digit"]

#: Longest side the ink is looked for at; larger pictures are first shrunk by area averaging.
WORK_SIDE = 512
#: The paper's surface is fitted on the picture shrunk to at most this many pixels a side...
FIT_SIDE = 64
#: ...in this many rounds of leaving out the pixels far from it (the ink).
FIT_ROUNDS = 6
#: Pictures this small are taken as digit-sized already: their border is their background.
SMALL_SIDE = 64
#: Less contrast than this between strokes and paper (on a 0..1 scale) is no ink at all.
MIN_CONTRAST = 0.05
#: Ink fainter than this (a stroke is 1) is paper: MNIST's background is exactly 0.
FAINT = 0.05
#: Ink pieces smaller than this fraction of the largest piece are dropped as noise.
MIN_PIECE = 0.1


@dataclass(frozen=True)
class Layout:
    """How a digit is laid out in a model's input field.

    Attributes:
        box: the side of the square the digit is scaled to fit, in pixels of the drawing field.
        centre: (row, column) of the drawing field where the centre of mass is placed.
        upsample: the drawing field is ``upsample`` times the input's shape, then block-averaged.
        binary: whether the drawing is thresholded at 0.5 before block-averaging (optdigits).
    """

    box: int
    centre: tuple[float, float]
    upsample: int = 1
    binary: bool = False


#: MNIST's 28x28 (20x20 box, centre of mass at (14, 14)) and the 8x8 digits' (the digit fills a
#: 32x32 bitmap, centred, counted in 4x4 blocks).
LAYOUTS = {
    (28, 28): Layout(box=20, centre=(14.0, 14.0)),
    (8, 8): Layout(box=32, centre=(15.5, 15.5), upsample=4, binary=True),
}


def layout_for(shape: tuple[int, int]) -> Layout:
    """The layout of ``shape``: :data:`LAYOUTS`, else MNIST's proportions (a box of 20/28 of the
    shorter side, centred)."""
    if shape in LAYOUTS:
        return LAYOUTS[shape]
    box = max(1, round(min(shape) * 20 / 28))
    return Layout(box=box, centre=((shape[0] - 1) / 2, (shape[1] - 1) / 2))


def area_resize(image: np.ndarray, shape: tuple[int, int],
                pad: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
                fill: float = 0.0) -> np.ndarray:
    """``image`` (h, w) resampled to ``shape`` by area averaging: each output pixel is the mean of
    the source area it covers, exact for shrinking and enlarging alike.

    ``pad`` ((top, bottom), (left, right)) pixels of ``fill`` are taken as surrounding the image
    without being made. Memory stays a few times the image and the output (running sums along one
    axis at a time, the shorter result first), whatever the sides and the padding."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape
    rows_first = shape[0] * w <= h * shape[1]
    if rows_first:
        return _resample_axis(_resample_axis(image, 0, shape[0], *pad[0], fill), 1, shape[1], *pad[1], fill)
    return _resample_axis(_resample_axis(image, 1, shape[1], *pad[1], fill), 0, shape[0], *pad[0], fill)


def _resample_axis(image: np.ndarray, axis: int, n_out: int, before: int = 0, after: int = 0,
                   fill: float = 0.0) -> np.ndarray:
    """``image`` area-averaged along ``axis`` to ``n_out`` cells, the axis extended by ``before``
    and ``after`` cells of ``fill``: from the running sums of the image along the axis, read at each
    output cell's edges (interpolated inside a source cell), in memory of the image's size."""
    moved = np.moveaxis(image, axis, 0)
    n = moved.shape[0]
    if n_out == n and before == after == 0:
        return image.copy()
    total = before + n + after
    edges = np.linspace(0.0, total, n_out + 1) - before  # in the image's own coordinates
    inside = np.clip(edges, 0.0, n)
    sums = np.zeros((n + 1, *moved.shape[1:]))
    np.cumsum(moved, axis=0, out=sums[1:])
    cell = np.minimum(inside.astype(np.intp), n - 1)
    part = (inside - cell).reshape(-1, *([1] * (moved.ndim - 1)))
    integral = sums[cell] + part * moved[cell]
    del sums
    widths = np.diff(edges).reshape(part[1:].shape)
    out = np.diff(integral, axis=0)
    if fill:
        out += fill * (widths - np.diff(inside).reshape(widths.shape))
    out /= widths
    return np.moveaxis(out, 0, axis)


def preparation_bytes(height: int, width: int, shape: tuple[int, int], prepare: str = "digit") -> int:
    """Bytes preparing a decoded (height, width) picture for a model of image ``shape`` takes at
    most, from the sides alone (the header's), besides the decoded gray levels: the running sums
    and results of :func:`area_resize` (the working copy, or the padded resize), at most
    :data:`WORK_SIDE` squared buffers of the ink steps, and the field's."""
    pixels = height * width
    field = shape[0] * shape[1] * 16  # an upsampled (4x4) field of 8x8 digits, at most
    if prepare == "digit":
        work = min(height, WORK_SIDE) * min(width, WORK_SIDE)
        return 8 * (2 * pixels + 16 * work + 4 * field)
    return 8 * (3 * pixels + 4 * field)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of ``values``: the level that best splits them into two classes (largest
    between-class variance), from a histogram of ``bins`` bins."""
    values = np.asarray(values, dtype=np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return low
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)[:-1].astype(np.float64)
    total = counts.sum()
    mass = np.cumsum(counts * centres)[:-1]
    below = mass / np.maximum(weight, 1)
    above = (mass[-1] + counts[-1] * centres[-1] - mass) / np.maximum(total - weight, 1)
    between = weight * (total - weight) * (below - above) ** 2
    return float(edges[1:-1][int(np.argmax(between))])


def _working_copy(gray: np.ndarray) -> np.ndarray:
    """``gray`` shrunk by area averaging so that its longer side is at most :data:`WORK_SIDE`."""
    h, w = gray.shape
    scale = WORK_SIDE / max(h, w)
    if scale >= 1:
        return np.asarray(gray, dtype=np.float64)
    return area_resize(gray, (max(1, round(h * scale)), max(1, round(w * scale))))


@functools.lru_cache(maxsize=8)
def _quadratic_terms(rows: int, columns: int) -> np.ndarray:
    """1, x, y, x², xy, y² at each pixel of a rows x columns grid spanning [0, 1]², (rows * columns, 6)
    (read-only: cached, the fit's grid is at most :data:`FIT_SIDE` a side)."""
    y, x = np.meshgrid(np.linspace(0, 1, rows), np.linspace(0, 1, columns), indexing="ij")
    terms = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1).reshape(-1, 6)
    terms.flags.writeable = False
    return terms


def _quadratic_surface(coefficients: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """c0 + c1 x + c2 y + c3 x² + c4 xy + c5 y² on a rows x columns grid spanning [0, 1]², (rows,
    columns): from a column and a row of terms, without the (rows, columns, 6) terms."""
    c0, c1, c2, c3, c4, c5 = coefficients
    x, y = np.linspace(0, 1, columns), np.linspace(0, 1, rows)[:, None]
    return (c0 + c2 * y + c5 * y * y) + x * (c1 + c3 * x + c4 * y)


def _least_squares(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The least-squares coefficients of ``design`` (n, 6) for ``values`` (n,), by the normal
    equations (6 x 6, well conditioned on [0, 1]²; an SVD of the whole design is far slower),
    falling back on an SVD when they are singular."""
    gram = design.T @ design
    try:
        return np.linalg.solve(gram, design.T @ values)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(design, values, rcond=None)[0]


def paper_surface(gray: np.ndarray, dark_ink: bool, rounds: int = FIT_ROUNDS) -> np.ndarray:
    """The paper's brightness under ``gray``: a quadratic surface in (row, column) fitted by least
    squares, then refitted over ``rounds`` - 1 more rounds to the pixels that are not ink: those not
    far darker than it (``dark_ink``) or not far lighter. Smooth lighting (a gradient, a vignette)
    is such a surface, and strokes touching the picture's border do not bend it. With ``rounds=1``
    it is the plain fit, through ink and paper alike."""
    h, w = gray.shape
    small = area_resize(gray, (min(h, FIT_SIDE), min(w, FIT_SIDE)))
    design = _quadratic_terms(*small.shape)
    values = small.ravel()
    keep = np.ones(values.size, bool)
    for round_ in range(rounds):
        coefficients = _least_squares(design[keep], values[keep])
        residuals = values - design @ coefficients
        ink_side = -residuals if dark_ink else residuals
        if round_ == 0:  # the first fit goes through the ink: start from the paper's side of it
            chosen = ink_side <= 0
        else:
            spread = 1.4826 * float(np.median(np.abs(residuals[keep]))) + 1e-3
            chosen = ink_side < 2.5 * spread
        if chosen.sum() < 4 * design.shape[1]:
            break
        keep = chosen
    return _quadratic_surface(coefficients, h, w)


def ink_map(gray: np.ndarray, invert: str = "auto") -> np.ndarray:
    """The ink of a gray image in [0, 1] as light strokes on a black background (0 = no ink),
    on an arbitrary scale (see the module's step 1). ``invert``: "auto", "yes" (dark ink on light
    paper) or "no" (light ink on dark paper)."""
    from scipy import ndimage

    h, w = gray.shape
    if max(h, w) <= SMALL_SIDE:
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        background = float(np.median(border))
        light_paper = invert == "yes" or (invert == "auto" and background > 0.5)
        return background - gray if light_paper else gray - background
    smooth = ndimage.gaussian_filter(gray, sigma=max(h, w) / 300)
    if invert == "auto":  # the ink is the minority: its tail makes the mean leave the median
        residuals = smooth - paper_surface(smooth, dark_ink=False, rounds=1)
        invert = "yes" if np.mean(residuals) < np.median(residuals) else "no"
    paper = paper_surface(smooth, dark_ink=invert == "yes")
    if invert == "yes":  # relative to the paper's brightness: shadows weaken the ink too
        return 1 - smooth / np.maximum(paper, 1e-3)
    return smooth - paper


def _clean_strokes(ink: np.ndarray) -> np.ndarray:
    """Ink rescaled to [0, 1] (paper 0, a typical stroke 1), noise and stray specks removed; all
    zeros when there is no contrast."""
    from scipy import ndimage

    threshold = otsu_threshold(ink)
    strokes = ink > threshold
    if not strokes.any() or strokes.all():
        return np.zeros_like(ink)
    paper = float(np.median(ink[~strokes]))
    full = float(np.percentile(ink[strokes], 75))
    if full - paper < MIN_CONTRAST:
        return np.zeros_like(ink)
    labels, count = ndimage.label(strokes)
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.zeros(count + 1, bool)
    keep[1:] = sizes >= MIN_PIECE * sizes.max()
    edge = max(1, round(max(ink.shape) / 100))
    near = ndimage.binary_dilation(keep[labels], iterations=edge)
    scaled = np.clip((ink - paper) / (full - paper), 0, 1)
    return np.where(near & (scaled >= FAINT), scaled, 0.0)


def _place(digit: np.ndarray, field: tuple[int, int], centre: tuple[float, float]) -> np.ndarray:
    """``digit`` pasted into a zero field of shape ``field`` with its centre of mass at ``centre``
    (whole-pixel shift, the digit kept inside the field)."""
    from scipy import ndimage

    out = np.zeros(field)
    h, w = digit.shape
    com = ndimage.center_of_mass(digit) if digit.sum() > 0 else ((h - 1) / 2, (w - 1) / 2)
    top = min(max(round(centre[0] - com[0]), 0), field[0] - h)
    left = min(max(round(centre[1] - com[1]), 0), field[1] - w)
    out[top:top + h, left:left + w] = digit
    return out


def prepare_digit(gray: np.ndarray, shape: tuple[int, int], invert: str = "auto") -> np.ndarray:
    """The input a digit-trained network expects from a picture of a digit: (height, width) in
    [0, 1], light strokes on black, laid out as :func:`layout_for` ``shape`` says.

    Args:
        gray: the picture's gray levels (h, w) in [0, 1] (0 black).
        shape: the model's image shape (height, width).
        invert: "auto" (decide from the picture), "yes" (dark ink on light paper), "no".
    """
    ink = _clean_strokes(ink_map(_working_copy(gray), invert))
    rows, columns = np.nonzero(ink)
    if rows.size == 0:
        return np.zeros(shape)
    ink = ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    layout = layout_for(shape)
    field = (shape[0] * layout.upsample, shape[1] * layout.upsample)
    box = min(layout.box, *field)
    scale = box / max(ink.shape)
    fitted = area_resize(ink, tuple(max(1, min(box, math.floor(side * scale + 0.5))) for side in ink.shape))
    drawing = _place(fitted, field, layout.centre)
    if layout.binary:
        drawing = (drawing >= 0.5).astype(np.float64)
    if layout.upsample > 1:
        drawing = area_resize(drawing, shape)
    return np.clip(drawing, 0.0, 1.0)
