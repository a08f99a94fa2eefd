"""How much the text head's dropout matters on phrasings it never saw (the reason for
``TextEncoder``'s 0.5; mmtriton/models/text.py).

Draws captions as the generator does (half naming their digit, half neutral, labels spread
evenly), training phrasings for training and held-out phrasings for the test, encodes them with
the frozen text tower, and trains the text head (plus a small classifier) on the training ones
with each dropout. Prints top-1 on the held-out captions that name the digit, and the mean top
probability on the held-out neutral ones: 0.1 would be a model that knows it cannot tell.
Usage: .venv/bin/python benchmarks/caption_dropout.py [--train 2700] [--test 1500]  (~1 min)
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from mmtriton.data import captions
from mmtriton.preprocess import Preprocessor
from mmtriton.resources import default_text_model
from mmtriton.models.text import TextEncoder
from mmtriton.spec import CLASS_NAMES, get_graph
from mmtriton.training.features import text_features

DROPOUTS = (0.0, 0.1, 0.3, 0.5, 0.7)


def _captions(n: int, held_out: bool, seed: int) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASS_NAMES)
    named = rng.random(n) < 0.5
    texts = [captions.caption(int(d), bool(i), rng, held_out) for d, i in zip(labels, named)]
    return texts, torch.from_numpy(labels), torch.from_numpy(named)


def _fit(dropout: float, x: torch.Tensor, y: torch.Tensor, width: int, epochs: int = 30) -> nn.Module:
    torch.manual_seed(0)
    head = nn.Sequential(nn.Dropout(dropout), nn.Linear(x.shape[1], width), nn.ReLU(), nn.Linear(width, 10))
    opt = torch.optim.Adam(head.parameters(), 2e-3, weight_decay=1e-4)
    head.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(y)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(head(x[batch]), y[batch]).backward()
            opt.step()
    return head.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=2700)
    ap.add_argument("--test", type=int, default=1500)
    args = ap.parse_args()
    graph = get_graph("demo")
    pre, tower = Preprocessor(graph), TextEncoder(default_text_model(), graph.preset.embed_dim).eval()
    (tr, ytr, _), (te, yte, named) = _captions(args.train, False, 0), _captions(args.test, True, 2)
    xtr, xte = text_features(tower, pre, tr), text_features(tower, pre, te)
    print(f"{'dropout':>8} {'held-out naming top-1':>22} {'held-out neutral mean top p':>28}")
    for p in DROPOUTS:
        head = _fit(p, xtr, ytr, graph.preset.embed_dim)
        with torch.no_grad():
            prob = torch.softmax(head(xte), dim=1)
        top1 = (prob.argmax(dim=1) == yte)[named].float().mean().item()
        print(f"{p:>8.1f} {top1:>22.3f} {prob[~named].max(dim=1).values.mean().item():>28.3f}")


if __name__ == "__main__":
    main()
