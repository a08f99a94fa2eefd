"""The reference model on real handwritten digits in the file formats people keep them in.

A digit set arrives as whatever its owner wrote out: scikit-learn's 8 x 8 arrays saved as they
are or enlarged (smoothly by Pillow, in square blocks by ``np.kron`` or a nearest filter),
MNIST's 28 x 28 light strokes on black as the files come, or drawn dark on white, as PNG or
JPEG. Other real sets keep theirs as small bitmaps (Semeion's 16 x 16, UCI's 32 x 32 optdigits),
as a digit stretched to fill its box (USPS), or as a drawing canvas exports them (black on
transparent); people write with thin pens and thick markers, in blue on ruled paper. MNIST's
digits stand in for those. The model should not care; this prints the checkpoint's image-only
top-1 per format, each decoded as the server decodes it (``mmtriton.training.real_eval``). The
held-out MNIST digits are the ones ``real_eval`` measures.

Usage: .venv/bin/python benchmarks/digit_formats.py [--preset demo]   (JSON; ~2 min on 2 cores)
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter

from mmtriton.data import mnist_ink, real
from mmtriton.paths import Artifacts
from mmtriton.preprocess import Preprocessor
from mmtriton.training.checkpoint import load_model
from mmtriton.training.real_eval import measure, mnist_package

Encode = Callable[[np.ndarray], bytes]


def _grey(ink: np.ndarray, dark: bool = True) -> Image.Image:
    """Ink in [0, 1] as an 8-bit grey image: dark ink on white, or (``dark=False``) the ink's
    own map, 255 where the ink is (light on black)."""
    return Image.fromarray(np.clip(255.0 * (1.0 - ink if dark else ink), 0, 255).astype(np.uint8), "L")


def _file(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def encoded(ink: np.ndarray, dark: bool = True, side: int | None = None, resample: int = Image.BICUBIC,
            fmt: str = "PNG") -> bytes:
    """Ink in [0, 1] -> an image file: dark ink on white or light on black, optionally enlarged."""
    im = _grey(ink, dark)
    if side is not None:
        im = im.resize((side, side), resample)
    if fmt != "JPEG":
        return _file(im)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _ink_image(ink: np.ndarray, side: int) -> Image.Image:
    """Ink in [0, 1] as an 8-bit map (255 = ink), enlarged smoothly to ``side``."""
    return _grey(ink, dark=False).resize((side, side), Image.BICUBIC)


def bitmap(ink: np.ndarray, side: int) -> bytes:
    """A two-level scan at ``side`` pixels (Semeion 16, optdigits 32): black where ink covers half."""
    grey = _grey(ink, dark=False).resize((side, side), Image.BILINEAR)
    return _file(Image.fromarray(np.where(np.asarray(grey) > 127, 0, 255).astype(np.uint8), "L"))


def stretched(ink: np.ndarray, side: int = 16) -> bytes:
    """The digit's bounding box stretched to fill ``side`` x ``side``, aspect lost (as USPS stores
    its digits), dark on white."""
    rows, cols = np.nonzero(ink > 0.1)
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    return _file(_grey(box).resize((side, side), Image.BILINEAR))


def canvas(ink: np.ndarray, side: int = 280) -> bytes:
    """Black strokes on a transparent background, as a browser canvas exports a drawing."""
    im = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    im.putalpha(_ink_image(ink, side))
    return _file(im)


def ruled(ink: np.ndarray, side: int = 112) -> bytes:
    """Blue ballpoint on cream paper with four pale blue rules across it."""
    alpha = np.asarray(_ink_image(ink, side), np.float32)[..., None] / 255.0
    paper = np.tile(np.array([0.97, 0.96, 0.92], np.float32), (side, side, 1))
    paper[6::side // 4] = (0.6, 0.7, 0.9)
    out = paper * (1.0 - alpha) + np.array([0.1, 0.15, 0.55], np.float32) * alpha
    return _file(Image.fromarray((255 * out).astype(np.uint8), "RGB"))


def pen(ink: np.ndarray, width: int, side: int = 112) -> bytes:
    """Strokes thinned (``width`` > 0: a fine pen) or thickened (< 0: a marker) by a 5 px filter."""
    grow = ImageFilter.MinFilter(width) if width > 0 else ImageFilter.MaxFilter(-width)
    return _file(Image.fromarray(255 - np.asarray(_ink_image(ink, side).filter(grow)), "L"))


def on_page(ink: np.ndarray, page: int = 100) -> bytes:
    """The 28 px digit as it is, centred on a larger white page (a margin the scan kept)."""
    im = Image.new("L", (page, page), 255)
    offset = (page - ink.shape[0]) // 2
    im.paste(_grey(ink), (offset, offset))
    return _file(im)


SKLEARN_FORMATS: dict[str, Encode] = {
    "enlarged to 64 px, bicubic (as metrics.json)": lambda x: real.ink_to_png(x, 64),
    "8 x 8 as is": lambda x: encoded(x),
    "8 x 8 as is, light on black": lambda x: encoded(x, dark=False),
    "enlarged to 64 px in square blocks": lambda x: encoded(x, side=64, resample=Image.NEAREST),
    "enlarged to 256 px in square blocks": lambda x: encoded(x, side=256, resample=Image.NEAREST),
    "enlarged to 32 px, bilinear": lambda x: encoded(x, side=32, resample=Image.BILINEAR),
    "enlarged to 64 px, bicubic, light on black": lambda x: encoded(x, dark=False, side=64),
}
MNIST_FORMATS: dict[str, Encode] = {
    "56 px dark on white (as metrics.json)": lambda x: real.ink_to_png(x, 56),
    "28 px light on black, as MNIST's files come": lambda x: encoded(x, dark=False),
    "28 px dark on white": lambda x: encoded(x),
    "28 px dark on white, JPEG": lambda x: encoded(x, fmt="JPEG"),
    "224 px light on black in square blocks": lambda x: encoded(x, dark=False, side=224, resample=Image.NEAREST),
    "16 px two-level bitmap (as Semeion's scans)": lambda x: bitmap(x, 16),
    "32 px two-level bitmap (as UCI's optdigits)": lambda x: bitmap(x, 32),
    "stretched to fill 16 x 16 (as USPS)": stretched,
    "280 px black on transparent (as a drawing canvas exports)": canvas,
    "112 px blue ballpoint on ruled paper": ruled,
    "112 px thin pen (strokes thinned by 5 px)": lambda x: pen(x, 5),
    "112 px thick marker (strokes thickened by 5 px)": lambda x: pen(x, -5),
    "28 px centred on a 100 px white page": on_page,
}


def scores(model, pre: Preprocessor, source: str, ink: np.ndarray, labels: np.ndarray,
           formats: dict[str, Encode]) -> dict[str, float]:
    out = {}
    for name, encode in formats.items():
        images = real.RealImages(source, [encode(x) for x in ink], labels)
        out[name] = measure(model, pre, lambda images=images: images)["image_only"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    args = parser.parse_args()
    art = Artifacts.default()
    model, graph, _ = load_model(art.checkpoint(args.preset))
    pre = Preprocessor(graph)
    report = {"sklearn-digits": scores(model, pre, "sklearn-digits", *real.sklearn_arrays(), SKLEARN_FORMATS)}
    mnist = real.mnist_arrays(mnist_package(art.root / "real"), exclude=mnist_ink.fingerprints())
    report["mnist"] = scores(model, pre, "mnist", *mnist, MNIST_FORMATS)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
