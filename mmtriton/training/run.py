"""End-to-end training run: load splits, cache frozen features, fit, evaluate, write checkpoint
and metrics.json."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from mmtriton.models.multimodal import MultimodalModel, Sources
from mmtriton.preprocess import Preprocessor
from mmtriton.models.speech_frontend import fit_adaptor
from mmtriton.resources import default_image_weights, default_speech_weights, default_text_model, speech_models
from mmtriton.spec.graph import ModelGraph
from mmtriton.training.checkpoint import FORMAT as CHECKPOINT_FORMAT, save_checkpoint
from mmtriton.training.dataset import SplitArrays, load_split
from mmtriton.training.features import CachedSplit, cache_split
from mmtriton.training.loop import TrainConfig, fit
from mmtriton.training.scoring import Scored
from mmtriton.training.real_eval import real_accuracy

log = logging.getLogger(__name__)
MODALITY_MASKS = {"image": (1.0, 0.0, 0.0), "audio": (0.0, 1.0, 0.0), "text": (0.0, 0.0, 1.0)}


def evaluate(model: MultimodalModel, data: CachedSplit, named: Optional[np.ndarray] = None) -> dict:
    """Fused accuracy and each single modality's accuracy on the whole split.

    A single-modality score counts samples that lack that modality as they are: the model sees
    nothing and its answer is almost always wrong. ``present_only`` scores only samples that
    have the modality. ``text_informative`` is text alone on the captions that name the class
    (``named``: their indices); the neutral ones cannot be answered from text.
    """
    scored = Scored.of(model, data)
    out = {"fused": scored.accuracy(), "single_modality": {}, "present_only": {}}
    for i, (name, mask) in enumerate(MODALITY_MASKS.items()):
        out["single_modality"][name] = scored.accuracy(torch.tensor(mask))
        out["present_only"][name] = scored.alone(i)
    if named is not None and len(named):
        out["text_informative"] = scored.alone(2, named)
    best = max(out["single_modality"].values())
    out["fused_minus_best_single"] = out["fused"] - best
    return out


def named_captions(split: SplitArrays) -> np.ndarray:
    """Indices of the samples whose caption names their class."""
    return np.asarray([i for i, s in enumerate(split.samples) if s.text_state == "informative"], dtype=np.int64)


def cache_splits(model: MultimodalModel, pre: Preprocessor, data_root: Path
                 ) -> tuple[dict[str, CachedSplit], dict[str, np.ndarray]]:
    """Every split's cached features and its named captions; one split's decoded pixels (about
    2 GB for the reference training split) are held at a time."""
    splits, named = {}, {}
    for name in ("train", "val", "test"):
        arrays = load_split(data_root / f"{name}.jsonl", pre)
        splits[name], named[name] = cache_split(model, pre, arrays), named_captions(arrays)
    return splits, named


def calibrate_speech(model: MultimodalModel, graph: ModelGraph) -> None:
    """Fit the speech path's band map against the published mel graph (a few seconds)."""
    folder = speech_models()
    if model.audio.speech is None or folder is None:
        return
    adaptor = fit_adaptor(graph.preset.audio, folder / "melspectrogram.onnx")
    model.audio.speech.adaptor.copy_(torch.from_numpy(adaptor))


def model_sources(data_root: Path) -> Sources:
    """The pretrained towers, and which paths train on the data alone: on generated data the
    ImageNet backbone and the from-scratch audio path learn the renderer and the synthesisers,
    not digits (benchmarks/tower_ablation.py measures it on real handwriting), so the reference model
    has the stroke CNN and the speech embedding only; a user's own data gets every path."""
    from mmtriton.data.dataset_info import read_info

    synthetic = (read_info(data_root) or {}).get("source", "generated") == "generated"
    speech = default_speech_weights()
    return Sources(text_model=default_text_model(), image_weights=str(default_image_weights() or "") or None,
                   speech_weights=None if speech is None else str(speech),
                   image_backbone=not synthetic, audio_own=not synthetic)


def train_reference(graph: ModelGraph, data_root: Path, out_dir: Path, cfg: TrainConfig,
                    on_epoch: Callable[[int, float, float], None] | None = None, data_fingerprint: str = "") -> dict:
    """Train the model of ``graph`` (its class names are the data set's) on the split manifests in
    ``data_root``; returns the metrics, which record the classes and the data fingerprint."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    sources = model_sources(data_root)
    model = MultimodalModel(graph, sources)
    calibrate_speech(model, graph)
    pre = Preprocessor(graph)
    splits, named = cache_splits(model, pre, data_root)
    t_features = time.perf_counter() - t0
    history = fit(model, splits["train"], splits["val"], cfg, on_epoch)
    metrics = {
        "preset": graph.preset.name,
        "checkpoint_format": CHECKPOINT_FORMAT,
        "class_names": list(graph.class_names),
        "data_fingerprint": data_fingerprint,
        "samples": {k: len(v) for k, v in splits.items()},
        "test": evaluate(model, splits["test"], named["test"]),
        "val": evaluate(model, splits["val"], named["val"]),
        "real": real_accuracy(model, pre, data_root.parent / "real"),
        "towers": dataclasses.asdict(sources),
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
