"""The reference model on real handwritten digits small on a page, as a photo of a sheet frames them.

A scanned digit fills its image; a phone photo of a form or a sheet leaves it small. The image
tower reads a 96 px input, so a digit at a sixth of the photo's height is a dozen pixels of ink.
This pastes the held-out MNIST digits (``mmtriton.training.real_eval``) at several sizes, anywhere
on a 240 px sheet of light paper, and prints the checkpoint's image-only top-1 per size beside
the digits as scanned. Rerun after training with ``mmtriton.data.handwriting.P_SMALL = 0.0`` to
see what the generator's small pages buy.

Usage: .venv/bin/python benchmarks/small_digits.py [--preset demo] [--limit 1000]  (JSON; ~1 min)
"""

from __future__ import annotations

import argparse
import io
import json

import numpy as np
from PIL import Image

from mmtriton.data import real
from mmtriton.paths import Artifacts
from mmtriton.preprocess import Preprocessor
from mmtriton.training.checkpoint import load_model
from mmtriton.training.real_eval import measure, real_sources

PAGE = 240  # px, the sheet's side
SIZES = (40, 60, 80)  # px of the sheet: the digit's 28 px MNIST frame scaled to this


def on_a_page(png: bytes, side: int, rng: np.random.Generator) -> bytes:
    """``png`` scaled to ``side`` px and pasted at a random place on a light grey sheet."""
    digit = Image.open(io.BytesIO(png)).convert("L").resize((side, side), Image.BILINEAR)
    page = Image.new("L", (PAGE, PAGE), int(rng.uniform(200, 240)))
    x, y = rng.integers(20, PAGE - 20 - side, size=2)
    page.paste(digit, (int(x), int(y)))
    buf = io.BytesIO()
    page.convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    art = Artifacts.default()
    model, graph, _ = load_model(art.checkpoint(args.preset))
    pre = Preprocessor(graph)
    mnist = real_sources(art.root / "real")["mnist"]()
    report = {"scanned": measure(model, pre, lambda: mnist)}
    images, labels = mnist.images[:args.limit], mnist.labels[:args.limit]
    for side in SIZES:
        rng = np.random.default_rng(side)
        pages = real.RealImages(f"mnist-on-a-page-{side}", [on_a_page(b, side, rng) for b in images], labels)
        report[f"on a {PAGE} px page at {side} px"] = measure(model, pre, lambda pages=pages: pages)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
