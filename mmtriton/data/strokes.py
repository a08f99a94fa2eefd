"""Digits drawn as pen strokes, in the styles people write them in.

MNIST's hands are American census workers' and school pupils', and handwriting fonts show one
designer's hand each. How a digit is written also depends on where its writer learned: a 1 with
a long flag (or a base), a crossed 7 or one with a hooked stem, a 4 open or closed, a 2 with a
loop, a flat-topped 3, a 9 with a straight or a curled tail. Each style here is a few strokes of
control points in a unit box; every sample moves them by a smooth random field (a hand's wobble
that keeps joined strokes joined), draws them with one pen width, and hands the ink mask to the
same paper and scanner steps as the other sources (``handwriting.render_handwritten``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

Stroke = tuple[tuple[float, float], ...]  # control points, x right and y down, in [0, 1]
Style = tuple[Stroke, ...]
SUPERSAMPLE = 3  # drawn at three times the size and reduced: smooth edges like a scan's


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = -0.25, turns: float = 1.08) -> Stroke:
    """An elliptical loop drawn counter-clockwise on the page from angle ``start`` (in turns),
    a little past closed as a pen overshoots its start."""
    t = 2 * np.pi * (start - np.linspace(0, turns, 20))
    return tuple((float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))) for a in t)


_STEM, _BASE = ((0.55, 0.0), (0.55, 1.0)), ((0.25, 1.0), (0.85, 1.0))
_SEVEN_BAR, _SEVEN_STEM = ((0.05, 0.0), (0.95, 0.0)), ((0.95, 0.0), (0.4, 1.0))
_NINE_LOOP = _ellipse(0.5, 0.28, 0.4, 0.28, start=0.0)
STYLES: dict[int, tuple[Style, ...]] = {
    0: ((_ellipse(0.5, 0.5, 0.45, 0.5),), (_ellipse(0.5, 0.5, 0.42, 0.5, start=-0.15, turns=1.15),)),
    1: ((_STEM,),
        (((0.25, 0.25), (0.55, 0.0)), _STEM),
        (((0.25, 0.25), (0.55, 0.0)), _STEM, _BASE),
        (((0.05, 0.45), (0.55, 0.0)), _STEM)),
    2: ((((0.1, 0.25), (0.3, 0.03), (0.6, 0.0), (0.88, 0.15), (0.88, 0.38), (0.6, 0.65), (0.3, 0.85), (0.05, 1.0)),
         ((0.05, 1.0), (1.0, 1.0))),
        (((0.1, 0.25), (0.35, 0.02), (0.7, 0.02), (0.9, 0.25), (0.7, 0.55), (0.35, 0.8), (0.15, 0.95), (0.1, 0.85),
          (0.25, 0.8), (0.5, 0.93), (0.75, 1.0), (1.0, 0.95)),),
        (((0.1, 0.2), (0.4, 0.0), (0.8, 0.08), (0.88, 0.3)), ((0.88, 0.3), (0.05, 1.0)), ((0.05, 1.0), (1.0, 1.0)))),
    3: ((((0.1, 0.12), (0.45, 0.0), (0.85, 0.12), (0.85, 0.35), (0.45, 0.48)),
         ((0.45, 0.48), (0.9, 0.62), (0.9, 0.88), (0.5, 1.0), (0.08, 0.9))),
        (((0.1, 0.0), (0.9, 0.0)), ((0.9, 0.0), (0.4, 0.4)),
         ((0.4, 0.4), (0.85, 0.55), (0.95, 0.8), (0.55, 1.0), (0.1, 0.9)))),
    4: ((((0.15, 0.0), (0.05, 0.62)), ((0.05, 0.62), (1.0, 0.62)), ((0.75, 0.1), (0.75, 1.0))),
        (((0.7, 0.0), (0.0, 0.65)), ((0.0, 0.65), (1.0, 0.65)), ((0.7, 0.0), (0.7, 1.0))),
        (((0.3, 0.0), (0.05, 0.6)), ((0.05, 0.6), (0.95, 0.6)), ((0.7, 0.3), (0.7, 1.0)))),
    5: ((((0.85, 0.0), (0.2, 0.0)), ((0.2, 0.0), (0.15, 0.45)),
         ((0.15, 0.45), (0.5, 0.38), (0.88, 0.55), (0.9, 0.82), (0.55, 1.0), (0.1, 0.9))),
        (((0.25, 0.0), (0.15, 0.5)), ((0.15, 0.5), (0.55, 0.4), (0.9, 0.6), (0.85, 0.88), (0.45, 1.0), (0.05, 0.85)),
         ((0.25, 0.0), (0.95, -0.05)))),
    6: ((((0.8, 0.02), (0.45, 0.1), (0.15, 0.4), (0.05, 0.7), (0.25, 0.97), (0.6, 1.0), (0.9, 0.8), (0.8, 0.55),
          (0.45, 0.5), (0.1, 0.7)),),
        (((0.7, 0.0), (0.2, 0.5), (0.1, 0.8), (0.4, 1.0), (0.8, 0.9), (0.85, 0.65), (0.5, 0.55), (0.15, 0.7)),)),
    7: ((_SEVEN_BAR, _SEVEN_STEM),
        (_SEVEN_BAR, _SEVEN_STEM, ((0.35, 0.5), (0.95, 0.5))),
        (((0.05, 0.18), (0.05, 0.0)), _SEVEN_BAR, _SEVEN_STEM),
        (_SEVEN_BAR, ((0.95, 0.0), (0.7, 0.4), (0.55, 1.0))),
        (_SEVEN_BAR, ((0.95, 0.0), (0.7, 0.4), (0.55, 1.0)), ((0.45, 0.48), (0.95, 0.48)))),
    8: ((((0.85, 0.15), (0.5, 0.0), (0.15, 0.15), (0.2, 0.35), (0.5, 0.5), (0.85, 0.7), (0.8, 0.92), (0.5, 1.0),
          (0.2, 0.92), (0.15, 0.7), (0.5, 0.5), (0.8, 0.3), (0.85, 0.15)),),
        (_ellipse(0.5, 0.24, 0.3, 0.24), _ellipse(0.5, 0.73, 0.4, 0.27))),
    9: ((_NINE_LOOP, ((0.9, 0.28), (0.85, 1.0))),
        (_NINE_LOOP, ((0.9, 0.28), (0.85, 0.65), (0.6, 0.95), (0.25, 0.9))),
        (_NINE_LOOP, ((0.9, 0.3), (0.6, 1.0)))),
}


def smooth(points: np.ndarray, per_segment: int = 12) -> np.ndarray:
    """A Catmull-Rom curve through ``points`` [n, 2] (ends repeated), as a dense polyline."""
    if len(points) < 3:
        return points
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    pieces = []
    for p0, p1, p2, p3 in zip(padded, padded[1:], padded[2:], padded[3:]):
        pieces.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                             + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    return np.vstack(pieces + [points[-1:]])


def wobble(rng: np.random.Generator, amount: float) -> Callable[[np.ndarray], np.ndarray]:
    """A smooth random displacement of the unit box (a few low-frequency waves per axis), so
    strokes that meet before meet after."""
    freq = rng.uniform(1.0, 3.0, (2, 3, 2))
    phase = rng.uniform(0, 2 * np.pi, (2, 3))
    amp = rng.normal(0, amount / np.sqrt(3), (2, 3))

    def move(p: np.ndarray) -> np.ndarray:
        waves = np.sin(np.einsum("ij,akj->aik", p, freq) + phase[:, None, :])  # [axis, n, wave]
        return p + np.einsum("ank,ak->na", waves, amp)
    return move


def stroke_ink(digit: int, size: int, rng: np.random.Generator) -> Image.Image:
    """One ``digit`` in a random style as an ink mask (255 = ink) on a square tile twice
    ``size``, as tall as a font's digit there, in one pen width."""
    styles = STYLES[digit]
    style = styles[int(rng.integers(len(styles)))]
    height = size * rng.uniform(0.45, 0.65) * SUPERSAMPLE
    width = height * rng.uniform(0.5, 0.75)
    move = wobble(rng, rng.uniform(0.0, 0.06))
    pen = max(1, int(round(height * rng.uniform(0.05, 0.14))))
    side = 2 * size * SUPERSAMPLE
    origin = np.array([(side - width) / 2, (side - height) / 2])
    tile = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(tile)
    for stroke in style:
        line = smooth(move(np.asarray(stroke, np.float64))) * [width, height] + origin
        xy = [tuple(p) for p in line.tolist()]
        draw.line(xy, fill=255, width=pen, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round pen ends
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return tile.resize((2 * size, 2 * size), Image.BOX)
