"""Served = offline: send held-out files through the ensemble and compare with the PyTorch
pipeline on the same bytes; report accuracy for every modality subset."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mmtriton.data.generate import Sample
from mmtriton.preprocess.tensors import sample_tensors
from mmtriton.serving.requests import ensemble_inputs, ensemble_outputs
from mmtriton.spec.graph import ModelGraph

MODALITIES = ("image", "audio", "text")
SUBSETS = tuple(c for r in (3, 2, 1) for c in itertools.combinations(MODALITIES, r))


def payload(folder: Path, sample: Sample, subset: Sequence[str] = MODALITIES) -> dict[str, Any]:
    """The sample's encoded files/caption for the modalities in ``subset`` that it has."""
    return {"image": (folder / sample.image).read_bytes() if "image" in subset and sample.image else None,
            "audio": (folder / sample.audio).read_bytes() if "audio" in subset and sample.audio else None,
            "text": sample.text if "text" in subset and sample.text else None}


def has_any(sample: Sample, subset: Sequence[str]) -> bool:
    return any(getattr(sample, m) is not None for m in subset)


def offline_probabilities(model: Any, pre: Any, folder: Path, samples: Sequence[Sample],
                          subset: Sequence[str] = MODALITIES) -> np.ndarray:
    """PyTorch on the same bytes, one sample at a time (no batching effects)."""
    import torch

    out = []
    with torch.no_grad():
        for s in samples:
            p = payload(folder, s, subset)
            out.append(eager_probabilities(model, pre, **p))
    return np.stack(out)


def eager_probabilities(model: Any, pre: Any, image: Optional[bytes], audio: Optional[bytes],
                        text: Optional[str]) -> np.ndarray:
    """One sample through the shared preprocessing and the PyTorch model (call under no_grad)."""
    import torch

    graph: ModelGraph = pre.graph
    t = {k: torch.from_numpy(v) for k, v in sample_tensors(pre, image, audio, text).items()}

    def args(spec: Any) -> list:
        return [t[name] for name in spec.input_names]

    embeddings = [model.image(*args(graph.image_encoder)), model.audio(*args(graph.audio_encoder)),
                  model.text(*args(graph.text_encoder))]
    flags = [t[name] for name in graph.fusion.input_names[3:]]
    logits, _ = model.fusion(*embeddings, *flags)
    return torch.softmax(logits, dim=-1)[0].numpy()


def served_outputs(client: Any, module: Any, graph: ModelGraph, folder: Path, samples: Sequence[Sample],
                   subset: Sequence[str] = MODALITIES, concurrency: int = 8) -> list[dict[str, np.ndarray]]:
    """Ensemble outputs per sample, ``concurrency`` requests in flight (gRPC client is thread-safe)."""
    def one(s: Sample) -> dict[str, np.ndarray]:
        inputs = ensemble_inputs(module, graph, **payload(folder, s, subset))
        return ensemble_outputs(client.infer(graph.ensemble.name, inputs), graph)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, samples))


def agreement(served: np.ndarray, offline: np.ndarray) -> dict[str, float]:
    return {"top1_agreement": float(np.mean(served.argmax(1) == offline.argmax(1))),
            "max_abs_prob_diff": float(np.max(np.abs(served - offline))), "samples": int(len(served))}


def subset_accuracy(client: Any, module: Any, graph: ModelGraph, folder: Path, samples: Sequence[Sample]) -> dict:
    """Accuracy of the served ensemble for every non-empty modality subset (samples with none of
    the subset's modalities are skipped: nothing would be sent)."""
    report = {}
    for subset in SUBSETS:
        chosen = [s for s in samples if has_any(s, subset)]
        outs = served_outputs(client, module, graph, folder, chosen, subset)
        correct = sum(int(o["label"][0, 0]) == s.label for o, s in zip(outs, chosen))
        report["+".join(subset)] = {"accuracy": correct / max(1, len(chosen)), "samples": len(chosen)}
    return report
