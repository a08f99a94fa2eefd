"""Served = offline: send held-out files through the ensemble and compare with the PyTorch
pipeline on the same bytes; report accuracy for every modality subset."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mmtriton.data.generate import Sample
from mmtriton.data.payloads import payload
from mmtriton.serving.requests import ensemble_inputs, ensemble_outputs
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.modality import MODALITIES, SUBSETS


def has_any(sample: Sample, subset: Sequence[str]) -> bool:
    return any(getattr(sample, m) is not None for m in subset)


def offline_probabilities(model: Any, pre: Any, folder: Path, samples: Sequence[Sample],
                          subset: Sequence[str] = MODALITIES) -> np.ndarray:
    """PyTorch on the same bytes, one sample at a time (no batching effects)."""
    from mmtriton.models.runners import eager_probabilities, torch_runners

    runners = torch_runners(model, pre.graph)
    return np.stack([eager_probabilities(model, pre, **payload(folder, s, subset), runners=runners) for s in samples])


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
