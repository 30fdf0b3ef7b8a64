"""Decoding image files (every format Pillow decodes: PNG, JPEG, BMP, GIF, TIFF, WebP...) into gray
levels in [0, 1], within the limits on untrusted input.

The size is read from the file's header (Pillow reads no pixels to tell) and checked against
:data:`~deltaprop.limits.MAX_IMAGE_PIXELS`, ``MAX_IMAGE_ASPECT`` and the memory available before any
pixel is decoded; whatever cannot be decoded is a :class:`~deltaprop.errors.DataFormatError`
naming the file. The first frame of an animation or a multi-page file is the image.
"""

from __future__ import annotations

import functools
import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deltaprop.datasets.base import check_decoded
from deltaprop.errors import DataFormatError
from deltaprop.limits import MAX_IMAGE_ASPECT, MAX_IMAGE_PIXELS

__all__ = ["decode_gray", "grayscale", "image_size", "image_suffixes", "png_size"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Bytes per pixel decoding and converting an image may take at once (RGBA, then float64 gray
#: levels and their temporaries).
PNG_BYTES_PER_PIXEL = 64
#: Formats Pillow lists but decodes only with an outside program or not at all (headers only).
UNDECODED_FORMATS = frozenset({"EPS", "MPEG"})
#: Pillow modes handed on as they are: 8-bit gray or color, with or without alpha.
DIRECT_MODES = frozenset({"L", "LA", "RGB", "RGBA"})


@functools.lru_cache(maxsize=1)
def image_suffixes() -> tuple[str, ...]:
    """The file suffixes (lower case, with the dot) of the image formats decoded here: those Pillow
    opens and decodes by itself (not its header-only stubs, nor EPS and MPEG), sorted."""
    from PIL import Image, ImageFile

    Image.init()

    def decodes(name: str) -> bool:
        factory = Image.OPEN.get(name, (None, None))[0]
        stub = isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile)
        return factory is not None and not stub and name not in UNDECODED_FORMATS

    return tuple(sorted(suffix for suffix, name in Image.registered_extensions().items() if decodes(name)))


def image_size(path: Path) -> tuple[str, int, int]:
    """(format, width, height) of an image file from its header, e.g. ('PNG', 200, 150).

    Raises DataFormatError if Pillow does not read it as an image it decodes.
    """
    with open(path, "rb") as file:
        if file.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE:  # its IHDR, even where Pillow would refuse
            return "PNG", *png_size(path)
    try:
        from PIL import Image

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. Pillow's decompression-bomb warning: a bad file
            with Image.open(path) as image:
                if image.format in UNDECODED_FORMATS:
                    raise ValueError(f"{image.format} images are not read here")
                return str(image.format), *image.size
    except Exception as error:  # an untrusted header: any failure is a bad file
        from PIL import Image

        kind = Image.registered_extensions().get(Path(path).suffix.lower(), "image")
        raise DataFormatError(f"{path}: not a readable {kind} image: {str(error)[:200]}") from None


def decode_gray(path: Path, max_pixels: int = MAX_IMAGE_PIXELS,
                prepared_bytes: Callable[[int, int], int] | None = None) -> np.ndarray:
    """The gray levels (h, w) in [0, 1] of an image file of any format :func:`image_suffixes` names
    (told apart by their first bytes, not by the file's name).

    The size is read from the header and checked against ``max_pixels``, ``MAX_IMAGE_ASPECT`` and
    the memory available before anything is decoded: decoding's, or the gray levels' plus what
    ``prepared_bytes(height, width)`` says the caller's preparation needs, whichever is more.
    Raises DataFormatError for anything else or anything unreadable.
    """
    kind, width, height = image_size(path)
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
            pixels = _decode(path)
    except MemoryError:
        raise DataFormatError(f"{path}: not enough memory to decode a {width} x {height} image") from None
    except Exception as error:  # any failure to decode an untrusted file is a bad file
        raise DataFormatError(f"{path}: not a readable {kind} image: {str(error)[:200]}") from None
    if pixels.ndim not in (2, 3) or 0 in pixels.shape[:2]:
        raise DataFormatError(f"{path}: unexpected image array of shape {pixels.shape}")
    return grayscale(pixels)


def _decode(path: Path) -> np.ndarray:
    """The first frame's pixels, EXIF orientation applied: a JPEG's Pillow gray levels (uint8),
    8-bit gray or color as they are (uint8, alpha kept), 16- and 32-bit gray as floats in [0, 1],
    any other mode converted to RGB (RGBA when it has transparency)."""
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        jpeg = opened.format == "JPEG"
        image = ImageOps.exif_transpose(opened)
        if jpeg:
            return np.asarray(image.convert("L"))
        if image.mode in DIRECT_MODES:
            return np.asarray(image)
        if image.mode == "I" or image.mode.startswith("I;16"):
            return np.clip(np.asarray(image, dtype=np.float64) / 65535, 0, 1)
        if image.mode == "F":
            return np.clip(np.asarray(image, dtype=np.float64), 0, 1)
        return np.asarray(image.convert("RGBA" if image.has_transparency_data else "RGB"))


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG file's IHDR chunk, read before anything is decoded (an empty
    image included, which Pillow does not open).

    Raises DataFormatError if the file does not start like a PNG image.
    """
    with open(path, "rb") as file:
        head = file.read(len(PNG_SIGNATURE) + 16)
    if not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR" or len(head) < 24:
        raise DataFormatError(f"{path}: not a readable PNG image: no PNG signature and IHDR header")
    return struct.unpack(">II", head[16:24])


def grayscale(pixels: np.ndarray) -> np.ndarray:
    """Gray levels in [0, 1] of a decoded image (h, w), (h, w, 1 to 4); transparent becomes white.

    8-bit values, and any values above 1, are taken as 0..255; color is weighted 0.299 R + 0.587 G
    + 0.114 B. Channels are converted to float64 one at a time, so that memory stays a few bytes per
    pixel.
    """
    pixels = np.asarray(pixels)
    scale = 1 / 255 if pixels.dtype == np.uint8 or pixels.max(initial=0) > 1 else 1.0

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
