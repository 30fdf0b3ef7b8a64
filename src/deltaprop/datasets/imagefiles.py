"""Decoding image files (PNG, JPEG) into gray levels in [0, 1], within the limits on untrusted input.

The size is read from the file's header and checked against :data:`~deltaprop.limits.MAX_IMAGE_PIXELS`
and the memory available before any pixel is decoded; whatever cannot be decoded is a
:class:`~deltaprop.errors.DataFormatError` naming the file.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deltaprop.datasets.base import check_decoded
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_IMAGE_ASPECT, MAX_IMAGE_PIXELS

__all__ = ["decode_gray", "grayscale", "jpeg_size", "png_size"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
#: Bytes per pixel decoding and converting an image may take at once (RGBA float32, then float64
#: gray levels and their temporaries).
PNG_BYTES_PER_PIXEL = 64


def decode_gray(path: Path, max_pixels: int = MAX_IMAGE_PIXELS,
                prepared_bytes: Callable[[int, int], int] | None = None) -> np.ndarray:
    """The gray levels (h, w) in [0, 1] of a PNG or JPEG file (told apart by their first bytes).

    The size is read from the header and checked against ``max_pixels``, ``MAX_IMAGE_ASPECT`` and
    the memory available before anything is decoded: decoding's, or the gray levels' plus what
    ``prepared_bytes(height, width)`` says the caller's preparation needs, whichever is more.
    Raises DataFormatError for anything else or anything unreadable.
    """
    kind = "JPEG" if _is_jpeg(path) else "PNG"
    width, height = jpeg_size(path) if kind == "JPEG" else png_size(path)
    if width == 0 or height == 0:
        raise DataFormatError(f"{path}: the {kind} header declares an empty {width} x {height} image")
    if width * height > max_pixels:
        raise DataFormatError(f"{path}: the image is {width} x {height} = {width * height:,} pixels, "
                              f"more than the limit of {max_pixels:,}; scale it down first")
    aspect = max(width, height) / min(width, height)
    if aspect > MAX_IMAGE_ASPECT:
        ratio = f"{aspect:,.1f}".removesuffix(".0")
        raise DataFormatError(f"{path}: the image is {width} x {height}, an aspect ratio of {ratio}:1, "
                              f"more than the limit of {MAX_IMAGE_ASPECT}:1; crop it to the digit first")
    needed = width * height * PNG_BYTES_PER_PIXEL
    if prepared_bytes is not None:
        needed = max(needed, width * height * 8 + prepared_bytes(height, width))
    check_decoded(f"{path}: decoding and preparing a {width} x {height} image", needed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. Pillow's decompression-bomb warning: a bad file
            pixels = _decode_jpeg(path) if kind == "JPEG" else _decode_png(path)
    except MemoryError:
        raise DataFormatError(f"{path}: not enough memory to decode a {width} x {height} image") from None
    except Exception as error:  # any failure to decode an untrusted file is a bad file
        raise DataFormatError(f"{path}: not a readable {kind} image: {str(error)[:200]}") from None
    if pixels.ndim not in (2, 3) or 0 in pixels.shape[:2]:
        raise DataFormatError(f"{path}: unexpected image array of shape {pixels.shape}")
    return grayscale(pixels)


def _decode_png(path: Path) -> np.ndarray:
    from matplotlib import image as mpimage

    return mpimage.imread(path)


def _decode_jpeg(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("L"))


def _is_jpeg(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(3) == JPEG_SIGNATURE


def jpeg_size(path: Path) -> tuple[int, int]:
    """(width, height) of a JPEG file from its header (Pillow reads no pixels to tell).

    Raises DataFormatError if Pillow does not read it as a JPEG image.
    """
    try:
        from PIL import Image

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with Image.open(path) as image:
                if image.format != "JPEG":
                    raise ValueError(f"a {image.format} image")
                return image.size
    except Exception as error:  # an untrusted header: any failure is a bad file
        raise DataFormatError(f"{path}: not a readable JPEG image: {str(error)[:200]}") from None


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG file's IHDR chunk, read before anything is decoded.

    Raises DataFormatError if the file does not start like a PNG image.
    """
    with open(path, "rb") as file:
        head = file.read(len(PNG_SIGNATURE) + 16)
    if not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR" or len(head) < 24:
        raise DataFormatError(f"{path}: not a readable PNG image: no PNG signature and IHDR header")
    return struct.unpack(">II", head[16:24])


def grayscale(pixels: np.ndarray) -> np.ndarray:
    """Gray levels in [0, 1] of a decoded image (h, w), (h, w, 1 to 4); transparent becomes white.

    Values above 1 are taken as 0..255; color is weighted 0.299 R + 0.587 G + 0.114 B. Channels are
    converted to float64 one at a time, so that memory stays a few bytes per pixel.
    """
    pixels = np.asarray(pixels)
    scale = 1 / 255 if pixels.max(initial=0) > 1 else 1.0

    def channel(i: int) -> np.ndarray:
        values = (pixels if pixels.ndim == 2 else pixels[..., i]).astype(np.float64)
        values *= scale
        return values

    if pixels.ndim == 2:
        return channel(0)
    channels = pixels.shape[2]
    gray = channel(0)
    if channels >= 3:
        gray *= 0.299
        for i, weight in ((1, 0.587), (2, 0.114)):
            gray += weight * channel(i)
    if channels in (2, 4):
        alpha = channel(channels - 1)
        gray *= alpha
        gray += 1 - alpha
    return gray
