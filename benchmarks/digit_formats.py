"""The reference model on real handwritten digits in the file formats people keep them in.

A digit set arrives as whatever its owner wrote out: scikit-learn's 8 x 8 arrays saved as they
are or enlarged (smoothly by Pillow, in square blocks by ``np.kron`` or a nearest filter),
MNIST's 28 x 28 light strokes on black as the files come, or drawn dark on white, as PNG or
JPEG. The model should not care; this prints the checkpoint's image-only top-1 per format, each
decoded as the server decodes it (``mmtriton.training.real_eval``). The held-out MNIST digits are
the ones ``real_eval`` measures.

Usage: .venv/bin/python benchmarks/digit_formats.py [--preset demo]   (JSON; ~1 min on 2 cores)
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Callable

import numpy as np
from PIL import Image

from mmtriton.data import mnist_ink, real
from mmtriton.paths import Artifacts
from mmtriton.preprocess import Preprocessor
from mmtriton.training.checkpoint import load_model
from mmtriton.training.real_eval import measure, mnist_package

Encode = Callable[[np.ndarray], bytes]


def encoded(ink: np.ndarray, dark: bool = True, side: int | None = None, resample: int = Image.BICUBIC,
            fmt: str = "PNG") -> bytes:
    """Ink in [0, 1] -> an image file: dark ink on white or light on black, optionally enlarged."""
    grey = np.clip(255.0 * (1.0 - ink if dark else ink), 0, 255).astype(np.uint8)
    im = Image.fromarray(grey, "L")
    if side is not None:
        im = im.resize((side, side), resample)
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.convert("RGB").save(buf, "JPEG", quality=90)
    else:
        im.save(buf, "PNG")
    return buf.getvalue()


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
