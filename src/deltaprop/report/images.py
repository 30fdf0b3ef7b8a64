"""Pixel images for the report, as inline PNG data URIs: weights on a diverging scale, examples in grey.

The PNGs are encoded here with the standard library (zlib): images of a few thousand pixels need no
imaging library, and each one costs a few hundred bytes in the page. Browsers scale them up with
``image-rendering: pixelated``, so each weight stays a sharp square.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

from deltaprop.plots import weight_mosaic
from deltaprop.report.svg import esc, num, svg

Array = np.ndarray
NEGATIVE = np.array([33, 102, 172], np.float64)  # blue
ZERO = np.array([247, 247, 247], np.float64)  # near white
POSITIVE = np.array([178, 24, 43], np.float64)  # red
GAP = np.array([200, 200, 200], np.uint8)


def png_bytes(rgb: Array) -> bytes:
    """A PNG file of an (h, w, 3) uint8 RGB image."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + np.ascontiguousarray(row).tobytes() for row in rgb.astype(np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def data_uri(rgb: Array) -> str:
    """An (h, w, 3) uint8 image as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def diverging(values: Array, vmax: float) -> Array:
    """RGB uint8 colours of ``values`` on the symmetric scale [-vmax, vmax]: blue, white, red."""
    t = np.clip(np.asarray(values, np.float64) / (vmax or 1.0), -1.0, 1.0)[..., None]
    colours = np.where(t < 0, ZERO + (NEGATIVE - ZERO) * -t, ZERO + (POSITIVE - ZERO) * t)
    return np.rint(colours).astype(np.uint8)


def greys(image: Array) -> Array:
    """RGB uint8 of a 2-D array, dark ink on white, scaled between its own minimum and maximum."""
    values = np.asarray(image, np.float64)
    low, high = float(values.min()), float(values.max())
    t = (values - low) / (high - low) if high > low else np.zeros_like(values)
    grey = np.rint(255 * (1 - t)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def tiles(weights: Array, shape: tuple[int, int], vmax: float, columns: int = 10) -> Array:
    """The rows of ``weights`` (units, h*w) as h x w images in a grid, 1-pixel grey gaps, all on the
    one symmetric scale [-vmax, vmax]."""
    units = weights.shape[0]
    mosaic = np.pad(weight_mosaic(weights, shape, units, max(1, min(columns, units))), 1,
                    constant_values=np.nan)
    gaps = np.isnan(mosaic)
    grid = diverging(np.where(gaps, 0.0, mosaic), vmax)
    grid[gaps] = GAP
    return grid


def colour_bar(vmax: float, label: str = "weight", width: int = 260, height: int = 46) -> str:
    """An SVG colour bar of the diverging scale from -vmax to +vmax, its ends and 0 marked."""
    stops = "".join(
        f'<stop offset="{offset}" stop-color="rgb({int(c[0])},{int(c[1])},{int(c[2])})"/>'
        for offset, c in (("0", NEGATIVE), ("0.5", ZERO), ("1", POSITIVE)))
    parts = [f'<defs><linearGradient id="cbar">{stops}</linearGradient></defs>',
             f'<rect x="10" y="4" width="{width - 20}" height="14" fill="url(#cbar)" stroke="#888"/>']
    for x, value, anchor in ((10, -vmax, "start"), (width / 2, 0.0, "middle"), (width - 10, vmax, "end")):
        parts.append(f'<text x="{x}" y="32" class="tk" text-anchor="{anchor}">{num(value, 3)}</text>')
    parts.append(f'<text x="{width / 2}" y="44" class="tk" text-anchor="middle">{esc(label)}</text>')
    return svg(parts, width, height, f"colour bar of the {label}: {num(-vmax, 3)} to {num(vmax, 3)}")


def img(uri: str, alt: str, width: int, css: str = "px") -> str:
    """An <img> of a data URI, drawn ``width`` CSS pixels wide with sharp pixels."""
    return f'<img class="{css}" src="{uri}" alt="{esc(alt)}" width="{width}">'
