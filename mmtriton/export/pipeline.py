"""Checkpoint -> ONNX files for every encoder and the fusion model, each proven by parity."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

import numpy as np

from mmtriton.export.onnx_export import export_onnx, serving_modules
from mmtriton.export.parity import ParityCase, check_parity, report, torch_outputs
from mmtriton.export.samples import RealInputs
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.preprocess import Preprocessor
from mmtriton.spec.graph import ModelGraph

log = logging.getLogger(__name__)


def _embeddings(model: MultimodalModel, graph: ModelGraph, real: RealInputs) -> dict[str, np.ndarray]:
    mods = serving_modules(model, graph)
    out = {}
    for key, spec, cases in (("image", graph.image_encoder, real.image_cases()),
                             ("audio", graph.audio_encoder, real.audio_cases()),
                             ("text", graph.text_encoder, real.text_cases())):
        inputs = [c for name, c in cases if name == "batch8" or name == "batch8-mixed-lengths"][0]
        out[key] = torch_outputs(mods[spec.name], spec, inputs)[0]
    return out


def export_all(model: MultimodalModel, graph: ModelGraph, manifest: Path, out_dir: Path,
               on_model: Callable[[str], None] | None = None) -> dict:
    """Export, check and prove every ONNX model; writes ``out_dir/parity.json`` and returns it."""
    real = RealInputs(graph, manifest, Preprocessor(graph))
    mods = serving_modules(model, graph)
    plan = [(graph.image_encoder, real.image_cases()), (graph.audio_encoder, real.audio_cases()),
            (graph.text_encoder, real.text_cases()),
            (graph.fusion, real.fusion_cases(_embeddings(model, graph, real)))]
    results: list[ParityCase] = []
    for spec, cases in plan:
        path = export_onnx(mods[spec.name], spec, out_dir / f"{spec.name}.onnx")
        results.extend(check_parity(path, mods[spec.name], spec, cases))
        if on_model:
            on_model(spec.name)
    summary = report(results)
    (out_dir / "parity.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
