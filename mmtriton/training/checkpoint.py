"""Checkpoints carry the spec preset and preprocessing constants they were trained with, so a
model is never served with preprocessing it did not see."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from mmtriton.errors import CheckpointError
from mmtriton.models.multimodal import FROZEN_PREFIXES, MultimodalModel, Sources
from mmtriton.spec.graph import ModelGraph, get_graph

# What a checkpoint's weights expect of the code around them. 2: the speech path hears 0.38 s of
# silence before every clip, and the stroke CNN sees the ink centred and sized by its moments:
# weights trained without them load but answer wrongly, so a format-1 checkpoint is retrained.
# 3: the ink map keeps only the ink's side of the paper and centres on pixels above a share of
# the ink's contrast (uneven light); retrained so that the recorded figures are the served ones.
# 4: a recording peaking under the preset's quiet_peak_db is raised to it before its log-mel
# frames (preprocess.audio.lift_quiet); retrained for the same reason.
FORMAT = 4


# Not part of what a model was trained on, so changing them must not invalidate a checkpoint:
# request caps; how recordings longer than the model's window are cut to it (training clips fit
# the window, so they never reach that code); and the length buckets padding is rounded up to
# (the encoders mask padding, tests/integration/test_length_buckets.py measures it).
NOT_TRAINED_ON = frozenset({"max_bytes", "max_pixels", "max_chars", "max_input_seconds", "silence_db",
                            "bucket_seconds", "buckets"})


def _preset_fingerprint(graph: ModelGraph) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(graph.preset)))


def _model_relevant(fingerprint: Any) -> Any:
    """The fingerprint without what training does not depend on (applied to stored and current alike)."""
    if isinstance(fingerprint, dict):
        return {k: _model_relevant(v) for k, v in fingerprint.items() if k not in NOT_TRAINED_ON}
    return fingerprint


def save_checkpoint(path: Path, model: MultimodalModel, graph: ModelGraph, sources: Sources, extra: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "preset": graph.preset.name,
        "preset_config": _preset_fingerprint(graph),
        "class_names": list(graph.class_names),
        "sources": dataclasses.asdict(sources),
        "state": model.trainable_state(),
        **extra,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def read_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; run `mmtriton train` first")
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a damaged file
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
    if payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {payload.get('format')}, expected {FORMAT}; "
                              "retrain it (`mmtriton train --force`)")
    return payload


def load_model(path: Path) -> tuple[MultimodalModel, ModelGraph, dict[str, Any]]:
    """Rebuild the model for the checkpoint's preset; refuse if the spec changed since training."""
    payload = read_checkpoint(path)
    graph = get_graph(payload["preset"]).with_classes(payload.get("class_names"))
    if _model_relevant(payload["preset_config"]) != _model_relevant(_preset_fingerprint(graph)):
        raise CheckpointError(f"checkpoint {path} was trained with different preprocessing/shape constants "
                              f"for preset {graph.preset.name!r}; retrain it")
    model = MultimodalModel(graph, Sources(**payload["sources"]))
    missing, unexpected = model.load_state_dict(payload["state"], strict=False)
    missing = [k for k in missing if not k.startswith(FROZEN_PREFIXES)]
    if missing or unexpected:
        raise CheckpointError(f"checkpoint {path} does not fit the model: missing={missing} unexpected={unexpected}")
    return model.eval(), graph, payload
