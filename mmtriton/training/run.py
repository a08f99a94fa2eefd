"""End-to-end training run: load splits, cache frozen features, fit, evaluate, write checkpoint
and metrics.json."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Callable

import torch

from mmtriton.models.multimodal import MultimodalModel, Sources
from mmtriton.preprocess import Preprocessor
from mmtriton.resources import default_image_weights, default_text_model
from mmtriton.spec.graph import ModelGraph
from mmtriton.training.checkpoint import save_checkpoint
from mmtriton.training.dataset import load_split
from mmtriton.training.features import CachedSplit, cache_split
from mmtriton.training.loop import TrainConfig, accuracy, fit

log = logging.getLogger(__name__)
MODALITY_MASKS = {"image": (1.0, 0.0, 0.0), "audio": (0.0, 1.0, 0.0), "text": (0.0, 0.0, 1.0)}


def evaluate(model: MultimodalModel, data: CachedSplit) -> dict:
    """Fused accuracy and each single modality's accuracy on the whole split.

    A single-modality score counts samples that lack that modality as they are: the model sees
    nothing and its answer is almost always wrong. ``present_only`` scores only samples that
    have the modality.
    """
    out = {"fused": accuracy(model, data), "single_modality": {}, "present_only": {}}
    for i, (name, mask) in enumerate(MODALITY_MASKS.items()):
        m = torch.tensor(mask)
        out["single_modality"][name] = accuracy(model, data, m)
        has = torch.nonzero(data.presence[:, i] > 0).reshape(-1).numpy()
        out["present_only"][name] = accuracy(model, _subset(data, has), m)
    best = max(out["single_modality"].values())
    out["fused_minus_best_single"] = out["fused"] - best
    return out


def _subset(data: CachedSplit, index) -> CachedSplit:
    return CachedSplit(data.image_features[index], data.text_features[index], [data.mels[i] for i in index],
                       data.presence[index], data.labels[index])


def train_reference(graph: ModelGraph, data_root: Path, out_dir: Path, cfg: TrainConfig,
                    on_epoch: Callable[[int, float, float], None] | None = None, data_fingerprint: str = "") -> dict:
    """Train the model of ``graph`` (its class names are the data set's) on the split manifests in
    ``data_root``; returns the metrics, which record the classes and the data fingerprint."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    sources = Sources(text_model=default_text_model(), image_weights=str(default_image_weights() or "") or None)
    model = MultimodalModel(graph, sources)
    pre = Preprocessor(graph)
    splits = {name: cache_split(model, pre, load_split(data_root / f"{name}.jsonl", pre))
              for name in ("train", "val", "test")}
    t_features = time.perf_counter() - t0
    history = fit(model, splits["train"], splits["val"], cfg, on_epoch)
    metrics = {
        "preset": graph.preset.name,
        "class_names": list(graph.class_names),
        "data_fingerprint": data_fingerprint,
        "samples": {k: len(v) for k, v in splits.items()},
        "test": evaluate(model, splits["test"]),
        "val": evaluate(model, splits["val"]),
        "best_epoch": history.best_epoch, "epochs_run": len(history.train_loss),
        "history": dataclasses.asdict(history),
        "train_config": dataclasses.asdict(cfg),
        "seconds": {"preprocess_and_features": round(t_features, 1), "total": round(time.perf_counter() - t0, 1)},
        "torch_threads": torch.get_num_threads(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out_dir / "checkpoint.pt", model, graph, sources,
                    {"metrics": metrics, "train_config": dataclasses.asdict(cfg), "data_fingerprint": data_fingerprint})
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
