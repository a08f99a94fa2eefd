"""Handwriting-like digits: what a pen or marker on paper looks like after a scanner or a phone.

Real handwriting differs from a printed font in stroke width, slant, wobble and placement, and
it is dark ink on light paper. Each nuisance here is one a real sample has: handwriting fonts,
a stroke thickened or thinned, a shear for slant, an elastic warp for the wobble of a hand,
off-centre and scaled placement (now and then small on a bigger page), paper tone, blur, sensor
noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SHEAR = 0.35  # slant, as the x shift per unit of height (about 19 degrees)
P_COARSE = 0.2  # of the handwritten images: read at a few pixels per stroke, then enlarged
# Of the handwritten images: a digit small on a bigger page, as a phone photo of a sheet frames
# it (PAGE_FACTOR times the digit's usual frame, so it fills 15-60 % of the page's height). The
# stroke tower reads such a digit at 10-40 px of its 96 px input. benchmarks/small_digits.py
# (MNIST digits a sixth / a quarter / a third of a sheet's side): 0.604 / 0.917 / 0.941 without
# these pages, 0.736 / 0.932 / 0.949 with them (scanned digits 0.963 and 0.960), but four more
# trainings with them spread over 0.61-0.83 / 0.88-0.93 / 0.92-0.94: a direction, not a size.
P_SMALL = 0.08
PAGE_FACTOR = (1.4, 3.3)


InkMask = Callable[[int, np.random.Generator], Image.Image]


def font_ink(digit: int, font: Path, size: int, rng: np.random.Generator) -> Image.Image:
    """The digit as a greyscale ink mask (255 = ink) on a square tile twice ``size``."""
    pt = int(size * rng.uniform(0.6, 0.9))
    face = ImageFont.truetype(str(font), pt)
    tile = Image.new("L", (size * 2, size * 2), 0)
    stroke = int(rng.choice([0, 0, 1, 1, 2, 3])) * max(1, pt // 40)
    ImageDraw.Draw(tile).text((size, size), str(digit), fill=255, font=face, anchor="mm",
                              stroke_width=stroke, stroke_fill=255)
    if rng.random() < 0.25:
        tile = _thinned(tile)
    return tile


def _thinned(tile: Image.Image) -> Image.Image:
    """A thin pen: the ink eroded by a pixel, unless that erases most of it (a fine font at a
    small size, which left near-blank images with a digit's label)."""
    thin = tile.filter(ImageFilter.MinFilter(3))
    kept = np.count_nonzero(np.asarray(thin) > 127) / max(1, np.count_nonzero(np.asarray(tile) > 127))
    return thin if kept > 0.4 else tile


def _affine(mask: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Slant, aspect and rotation about the tile centre."""
    w, h = mask.size
    shear = rng.uniform(-SHEAR, SHEAR)
    sx, sy = rng.uniform(0.75, 1.1), rng.uniform(0.9, 1.15)
    # Pillow's affine maps output to input coordinates: invert scale, add the shear.
    a, b, d, e = 1 / sx, shear, 0.0, 1 / sy
    c, f = w / 2 - a * w / 2 - b * h / 2, h / 2 - e * h / 2
    out = mask.transform(mask.size, Image.AFFINE, (a, b, c, d, e, f), resample=Image.BILINEAR)
    return out.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR)


def elastic(mask: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Simard-style elastic distortion: a smooth random displacement field of ``alpha`` pixels."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    h, w = mask.shape
    dx = gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma) * alpha
    dy = gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma) * alpha
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return map_coordinates(mask, (ys + dy, xs + dx), order=1, mode="constant")


def _paper(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Light paper with a gentle illumination gradient, [h, w, 3] float."""
    tone = rng.uniform(190, 255, size=3) if rng.random() < 0.15 else np.full(3, rng.uniform(205, 255))
    gy, gx = np.linspace(-1, 1, h)[:, None], np.linspace(-1, 1, w)[None, :]
    shade = 1 - rng.uniform(0, 0.15) * (rng.uniform(-1, 1) * gx + rng.uniform(-1, 1) * gy)
    return tone[None, None, :] * shade[..., None]


def _ink(rng: np.random.Generator) -> np.ndarray:
    """Pencil grey, black, or blue ballpoint."""
    kind = rng.random()
    if kind < 0.2:
        return np.asarray(rng.uniform([10, 20, 90], [60, 80, 200]))
    return np.full(3, rng.uniform(0, 90))


def render_handwritten(ink_mask: InkMask, rng: np.random.Generator) -> Image.Image:
    """An RGB image of one digit as ink on paper, off-centre (or small on a page), slanted and warped.

    ``ink_mask(size, rng)`` draws the digit's ink (255 = ink) on a tile twice ``size``: a
    font's digit (``font_ink``) or a real hand's (``mnist_ink.ink_tile``)."""
    w, h = int(rng.integers(28, 200)), int(rng.integers(28, 200))
    size = min(w, h)
    mask = _affine(ink_mask(size, rng), rng)
    arr = np.asarray(mask, dtype=np.float32) / 255.0
    arr = elastic(arr, rng, alpha=size * rng.uniform(0.0, 0.08), sigma=size * rng.uniform(0.06, 0.1))
    arr = np.clip(arr * rng.uniform(0.85, 1.0), 0, 1)
    side = max(8, int(size * 2 * rng.uniform(0.75, 1.05)))
    tile = np.asarray(Image.fromarray((arr * 255).astype(np.uint8)).resize((side, side), Image.BILINEAR), np.float32) / 255
    small = rng.random() < P_SMALL
    canvas = _small_on_page(tile, w, h, rng) if small else _placed(tile, w, h, rng)
    h, w = canvas.shape
    rgb = _paper(w, h, rng) * (1 - canvas[..., None]) + _ink(rng)[None, None, :] * canvas[..., None]
    im = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    noisy = np.asarray(im, dtype=np.float32) + rng.normal(0, rng.uniform(0, 10), size=(h, w, 3))
    out = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")
    return coarse_scan(out, rng) if not small and rng.random() < P_COARSE else out


def _canvas_with(tile: np.ndarray, w: int, h: int, dx: float, dy: float) -> np.ndarray:
    """A ``h`` x ``w`` ink canvas with ``tile`` centred ``dx``, ``dy`` pixels off its middle."""
    canvas = np.zeros((h, w), np.float32)
    side = tile.shape[0]
    _paste(canvas, tile, int(w / 2 + dx - side / 2), int(h / 2 + dy - side / 2))
    return canvas


def _placed(tile: np.ndarray, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A ``h`` x ``w`` ink canvas with ``tile`` near its centre (up to 15 % of a side off)."""
    dx = rng.uniform(-0.15, 0.15) * w
    return _canvas_with(tile, w, h, dx, rng.uniform(-0.15, 0.15) * h)


def _small_on_page(tile: np.ndarray, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """The digit's usual ``h`` x ``w`` frame enlarged PAGE_FACTOR times around it, the digit
    anywhere inside the page's central square (the part a centre crop keeps)."""
    factor = rng.uniform(*PAGE_FACTOR)
    pw, ph = int(w * factor), int(h * factor)
    room = max(0.0, (min(pw, ph) - 0.6 * tile.shape[0]) / 2)  # the tile's ink spans about 60 % of it
    dx, dy = rng.uniform(-room, room, size=2)
    return _canvas_with(tile, pw, ph, dx, dy)


def coarse_scan(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The page as a coarse scanner or a form reader sees it, enlarged again by whoever sends it.

    The digit ends up 6 to 16 pixels tall (UCI's optical digits are 8): grey, or thresholded to
    a bitmap first and its ink counted in blocks as form readers do (then sometimes kept to the
    few levels a count has), then enlarged to the original size with one of the usual filters."""
    w, h = im.size
    factor = rng.uniform(6, 16) / (0.5 * min(w, h))  # the digit is about half the shorter side
    if factor >= 1:
        return im
    bitmap = rng.random() < 0.5
    grey = _threshold(im.convert("L")) if bitmap else im.convert("L")
    small = grey.resize((max(4, round(w * factor)), max(4, round(h * factor))), Image.BOX)
    if bitmap and rng.random() < 0.5:  # ink pixels counted per block: 17 levels in 4x4 blocks
        levels = int(rng.choice([5, 10, 17]))
        small = small.point(lambda v: round(round(v * (levels - 1) / 255) * 255 / (levels - 1)))
    filters = (Image.NEAREST, Image.BILINEAR, Image.BICUBIC)
    return small.resize((w, h), filters[int(rng.integers(len(filters)))]).convert("RGB")


def _paste(canvas: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    """Max-composite ``tile`` into ``canvas`` at (x, y), clipped to the canvas."""
    h, w = canvas.shape
    th, tw = tile.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + tw), min(h, y + th)
    if x1 > x0 and y1 > y0:
        region = tile[y0 - y: y1 - y, x0 - x: x1 - x]
        canvas[y0:y1, x0:x1] = np.maximum(canvas[y0:y1, x0:x1], region)


def _threshold(grey: Image.Image) -> Image.Image:
    """Ink to black and paper to white against the page's local level, so that shading is not
    read as ink: halfway between the blurred page and the darkest ink."""
    page = np.asarray(grey.filter(ImageFilter.GaussianBlur(min(grey.size) / 6)), np.float32)
    arr = np.asarray(grey, np.float32)
    ink = np.percentile(arr, 0.5)
    return Image.fromarray(np.where(arr < (page + ink) / 2, 0, 255).astype(np.uint8), "L")
