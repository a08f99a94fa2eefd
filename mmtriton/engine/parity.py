"""TensorRT vs ONNX Runtime on the held-out split: per-model differences and end-to-end agreement.

Per model: the export's real-input parity cases (batches 1/3/8/max, min/max lengths), max
absolute difference of every output. End to end: held-out samples through preprocessing ->
encoders -> fusion with both runtimes; top-1 agreement and the largest probability difference.
The gpu tests hold these to FP32 <= 1e-3, FP16 top-1 >= 99.5 % and probabilities within 1e-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from mmtriton.runtime import Runner, probabilities, stack
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.modality import MODALITIES


@dataclass(frozen=True)
class EndToEnd:
    samples: int
    top1_agreement: float
    max_prob_diff: float


def trt_runners(graph: ModelGraph, engine_dir: Path) -> dict[str, Runner]:
    from mmtriton.engine.runner import TrtRunner

    return {m.name: TrtRunner(engine_dir / f"{m.name}.plan") for m in graph.exported}


def model_diffs(graph: ModelGraph, manifest: Path, ref: Mapping[str, Runner], test: Mapping[str, Runner]) -> dict[str, float]:
    """Largest |test - ref| per model over its parity cases (fusion fed real ORT embeddings)."""
    from mmtriton.export.samples import RealInputs
    from mmtriton.preprocess import Preprocessor

    real = RealInputs(graph, manifest, Preprocessor(graph))
    cases = {graph.image_encoder.name: list(real.image_cases()), graph.audio_encoder.name: list(real.audio_cases()),
             graph.text_encoder.name: list(real.text_cases())}
    embed = {m: ref[graph.encoder(m).name](dict(next(c for n, c in cases[graph.encoder(m).name]
                                                     if n.startswith("batch8"))))[graph.embedding(m).name]
             for m in MODALITIES}
    cases[graph.fusion.name] = list(real.fusion_cases(embed))
    out = {}
    for name, model_cases in cases.items():
        out[name] = max(float(np.max(np.abs(test[name](arrays)[o] - ref[name](arrays)[o])))
                        for _, arrays in model_cases for o in graph.model(name).output_names)
    return out


def heldout_batches(graph: ModelGraph, manifest: Path, limit: int, batch: int = 16) -> list[dict[str, np.ndarray]]:
    """Held-out samples as the tensor ensemble's inputs, in batches (every modality subset occurs)."""
    from mmtriton.data.generate import read_manifest
    from mmtriton.data.payloads import payload
    from mmtriton.preprocess import Preprocessor
    from mmtriton.preprocess.tensors import sample_tensors

    pre, folder = Preprocessor(graph), manifest.with_suffix("")
    per = [sample_tensors(pre, **payload(folder, r)) for r in read_manifest(manifest)[:limit]]
    return [stack(per[i:i + batch]) for i in range(0, len(per), batch)]


def end_to_end(graph: ModelGraph, batches: list[dict[str, np.ndarray]], ref: Mapping[str, Runner],
               test: Mapping[str, Runner]) -> EndToEnd:
    a, b = probabilities(graph, ref, batches), probabilities(graph, test, batches)
    agree = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
    return EndToEnd(len(a), agree, float(np.max(np.abs(a - b))))
