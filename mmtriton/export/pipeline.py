"""Checkpoint -> ONNX files for every encoder and the fusion model, each proven by parity."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from torch import nn

from mmtriton.errors import ExportError
from mmtriton.export.onnx_export import export_onnx
from mmtriton.export.parity import ParityCase, check_parity, report
from mmtriton.export.samples import Case, RealInputs
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.models.runners import serving_modules, torch_outputs
from mmtriton.preprocess import Preprocessor
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec

log = logging.getLogger(__name__)
Plan = list[tuple[ModelSpec, nn.Module, Iterator[Case]]]


def _embeddings(model: MultimodalModel, graph: ModelGraph, real: RealInputs) -> dict[str, np.ndarray]:
    """Real encoder outputs (batch of 8) to feed the fusion parity cases."""
    mods = serving_modules(model, graph)
    out = {}
    for key, spec, cases in (("image", graph.image_encoder, real.image_cases()),
                             ("audio", graph.audio_encoder, real.audio_cases()),
                             ("text", graph.text_encoder, real.text_cases())):
        inputs = next(c for name, c in cases if name.startswith("batch8"))
        out[key] = torch_outputs(mods[spec.name], spec, inputs)[0]
    return out


def parity_plan(model: MultimodalModel, graph: ModelGraph, manifest: Path) -> Plan:
    """Each exported model with its PyTorch module and its real-input parity cases."""
    real = RealInputs(graph, manifest, Preprocessor(graph))
    mods = serving_modules(model, graph)
    cases = {graph.image_encoder.name: real.image_cases(), graph.audio_encoder.name: real.audio_cases(),
             graph.text_encoder.name: real.text_cases(),
             graph.fusion.name: real.fusion_cases(_embeddings(model, graph, real))}
    return [(spec, mods[spec.name], cases[spec.name])
            for spec in (graph.image_encoder, graph.audio_encoder, graph.text_encoder, graph.fusion)]


def _prove(plan: Plan, onnx_dir: Path, export: bool, on_model: Callable[[str], None] | None) -> dict:
    results: list[ParityCase] = []
    for spec, module, cases in plan:
        path = onnx_dir / f"{spec.name}.onnx"
        if export:
            export_onnx(module, spec, path)
        elif not path.is_file():
            raise ExportError(f"{path} is missing; run `mmtriton export` first")
        results.extend(check_parity(path, module, spec, cases))
        if on_model:
            on_model(spec.name)
    return report(results)


def signature(graph: ModelGraph) -> dict:
    """Names the exported graphs were built with; a change means the files must be re-exported."""
    return {m.name: [list(m.input_names), list(m.output_names)] for m in graph.exported}


def export_all(model: MultimodalModel, graph: ModelGraph, manifest: Path, out_dir: Path,
               on_model: Callable[[str], None] | None = None) -> dict:
    """Export, check and prove every ONNX model; writes ``out_dir/parity.json`` and returns it."""
    summary = _prove(parity_plan(model, graph, manifest), out_dir, True, on_model)
    summary["signature"] = signature(graph)
    (out_dir / "parity.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def verify_existing(model: MultimodalModel, graph: ModelGraph, manifest: Path, onnx_dir: Path) -> dict:
    """Re-prove ONNX files already on disk (``mmtriton parity``) without exporting again."""
    return _prove(parity_plan(model, graph, manifest), onnx_dir, False, None)
