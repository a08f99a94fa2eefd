"""Digit images rendered with Pillow from installed fonts, with realistic nuisances.

Clean samples get mild rotation, blur, noise and a small occluder; degraded samples get a large
occluder plus heavy blur and noise, so the image alone is unreliable for them.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

IMAGE_FORMATS = ("jpeg", "jpeg-progressive", "png", "webp", "bmp")
_FORMAT_WEIGHTS = (0.45, 0.15, 0.2, 0.1, 0.1)


def _colours(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    bg = tuple(int(v) for v in rng.integers(170, 256, size=3))
    fg = tuple(int(v) for v in rng.integers(0, 90, size=3))
    return (fg, bg) if rng.random() < 0.2 else (bg, fg)


def _glyph(digit: int, font: Path, size: int, rng: np.random.Generator) -> Image.Image:
    """The digit on a transparent square tile, rotated."""
    pt = int(size * rng.uniform(0.55, 0.85))
    face = ImageFont.truetype(str(font), pt)
    tile = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(tile)
    draw.text((size, size), str(digit), fill=255, font=face, anchor="mm")
    return tile.rotate(rng.uniform(-15, 15), resample=Image.BILINEAR)


def _occlude(im: Image.Image, rng: np.random.Generator, fraction: float, colour: tuple[int, ...]) -> None:
    w, h = im.size
    ow, oh = int(w * np.sqrt(fraction) * rng.uniform(0.8, 1.2)), int(h * np.sqrt(fraction) * rng.uniform(0.8, 1.2))
    x, y = int(rng.integers(0, max(1, w - ow))), int(rng.integers(0, max(1, h - oh)))
    ImageDraw.Draw(im).rectangle((x, y, x + ow, y + oh), fill=colour)


def render_digit(digit: int, font: Path, rng: np.random.Generator, degraded: bool) -> Image.Image:
    """An RGB image of ``digit``; ``degraded`` makes it mostly unreadable."""
    w, h = int(rng.integers(64, 200)), int(rng.integers(64, 200))
    bg, fg = _colours(rng)
    im = Image.new("RGB", (w, h), bg)
    size = min(w, h)
    glyph = _glyph(digit, font, size, rng)
    dx, dy = rng.integers(-size // 10, size // 10 + 1, size=2)
    im.paste(Image.new("RGB", glyph.size, fg), (int(w / 2 - size + dx), int(h / 2 - size + dy)), glyph)
    if degraded:
        _occlude(im, rng, rng.uniform(0.45, 0.7), fg if rng.random() < 0.5 else bg)
    elif rng.random() < 0.3:
        _occlude(im, rng, rng.uniform(0.01, 0.04), tuple(int(v) for v in rng.integers(0, 256, 3)))
    blur = rng.uniform(2.0, 4.0) if degraded else rng.uniform(0.0, 1.0)
    im = im.filter(ImageFilter.GaussianBlur(blur))
    sigma = rng.uniform(30, 60) if degraded else rng.uniform(0, 12)
    noisy = np.asarray(im, dtype=np.float32) + rng.normal(0, sigma, size=(h, w, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def encode_image(im: Image.Image, fmt: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """Encode to one of IMAGE_FORMATS; returns (bytes, file extension)."""
    buf = io.BytesIO()
    if fmt.startswith("jpeg"):
        im.save(buf, "JPEG", quality=int(rng.integers(70, 96)), progressive=fmt.endswith("progressive"))
        return buf.getvalue(), "jpg"
    pil_format = {"png": "PNG", "webp": "WEBP", "bmp": "BMP"}[fmt]
    im.save(buf, pil_format, **({"quality": 90} if fmt == "webp" else {}))
    return buf.getvalue(), fmt


def pick_format(rng: np.random.Generator) -> str:
    return str(rng.choice(IMAGE_FORMATS, p=_FORMAT_WEIGHTS))
