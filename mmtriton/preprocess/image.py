"""Image bytes -> normalised float32 CHW, with Pillow. Shared by training, serving and the client.

The pixel-count check runs on the header, before any pixel is decoded, so a decompression bomb
costs nothing. JPEG draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale when the target is
much smaller than the source, which is most of the decode time saved.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from mmtriton.errors import InvalidInputError, public_message
from mmtriton.spec.presets import ImageConfig

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# Only the formats we document; Pillow would otherwise also parse TIFF, ICO, JPEG 2000, EPS
# (via Ghostscript) and more from untrusted bytes.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")  # the JPEG opener also yields MPO (camera JPEGs)
_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
_WHITE = (255, 255, 255)


def open_image(data: bytes, cfg: ImageConfig) -> Image.Image:
    """Open (header only) and refuse oversize or undecodable input before decoding pixels."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"image must be bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise InvalidInputError("image is empty (0 bytes)")
    if len(data) > cfg.max_bytes:
        raise InvalidInputError(f"image is {len(data)} bytes; the limit is {cfg.max_bytes}")
    Image.MAX_IMAGE_PIXELS = cfg.max_pixels  # Pillow's bomb check at our limit (one preset per process)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(bytes(data)), formats=FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{found.group(1)} pixels" if found else f"more than {cfg.max_pixels} pixels"
        raise InvalidInputError(f"image declares {size} (decompression-bomb check); the limit is {cfg.max_pixels}") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InvalidInputError(f"not a decodable image (JPEG, PNG, GIF, WebP, BMP): {public_message(e)}") from e
    w, h = im.size
    if w < 1 or h < 1:
        raise InvalidInputError(f"image has no pixels ({w}x{h})")
    if w * h > cfg.max_pixels:
        raise InvalidInputError(f"image is {w}x{h} = {w * h} pixels; the limit is {cfg.max_pixels}")
    return im


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB: alpha over white, 16-bit scaled down, CMYK/palette converted."""
    if im.mode in _SIXTEEN_BIT_MODES:
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if im.mode == "F":
            peak = max(1.0, float(arr.max(initial=0)))
        gray = np.clip(np.rint(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 when absent or unreadable: a broken EXIF block must not fail the image)."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - Pillow raises many types for malformed EXIF
        return 1
    return value if isinstance(value, int) else 1


def _decode(im: Image.Image, size: int) -> Image.Image:
    if im.format in ("JPEG", "MPO"):
        im.draft(None, (size, size))  # libjpeg DCT scaling; keeps both sides >= size
    turn = _TRANSPOSE.get(orientation(im))
    im = to_rgb(im)
    return im.transpose(turn) if turn is not None else im


def resize_center_crop(im: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size`` and centre crop, done as one resample of the centred square."""
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) / 2.0, (h - side) / 2.0
    return im.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side))


def normalise(rgb: np.ndarray, cfg: ImageConfig) -> np.ndarray:
    """HWC uint8 -> CHW float32, (x/255 - mean) / std folded into one multiply-add."""
    scale = (1.0 / (255.0 * np.asarray(cfg.std, dtype=np.float32)))
    bias = -np.asarray(cfg.mean, dtype=np.float32) / np.asarray(cfg.std, dtype=np.float32)
    out = rgb.astype(np.float32) * scale + bias
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def preprocess_image(data: bytes, cfg: ImageConfig) -> np.ndarray:
    """Encoded image bytes -> float32 [3, size, size]; raises InvalidInputError on bad input."""
    im = open_image(data, cfg)
    try:
        rgb = resize_center_crop(_decode(im, cfg.size), cfg.size)
        arr = np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise InvalidInputError(f"image could not be decoded (truncated or corrupt?): {public_message(e)}") from e
    return normalise(arr, cfg)


def preprocess_images(blobs: Sequence[bytes], cfg: ImageConfig) -> np.ndarray:
    """Many images -> float32 [N, 3, size, size] (every one must be valid)."""
    if len(blobs) == 0:
        return np.zeros((0, 3, cfg.size, cfg.size), dtype=np.float32)
    return np.stack([preprocess_image(b, cfg) for b in blobs])
