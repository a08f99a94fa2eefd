"""The harness the gpu tests use to hold TensorRT to ONNX Runtime, proven on CPU against PyTorch:
held-out samples batched (padded) through ORT runners give the checkpoint's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from mmtriton.engine.parity import end_to_end, heldout_batches, model_diffs
from mmtriton.runtime import ort_runners, probabilities

pytestmark = pytest.mark.integration


def test_batched_ort_pipeline_reproduces_pytorch_on_heldout_samples(artifacts, graph, preprocessor):
    import torch

    from mmtriton.data.generate import read_manifest
    from mmtriton.data.payloads import payload
    from mmtriton.models.runners import eager_probabilities
    from mmtriton.training.checkpoint import load_model

    manifest = artifacts.manifest("test")
    batches = heldout_batches(graph, manifest, limit=40, batch=16)
    assert [len(b[graph.present("image").name]) for b in batches] == [16, 16, 8]
    ort_probs = probabilities(graph, ort_runners(graph, artifacts.onnx("demo")), batches)
    model, _, _ = load_model(artifacts.checkpoint("demo"))
    folder = manifest.with_suffix("")
    with torch.no_grad():
        eager = np.stack([eager_probabilities(model.eval(), preprocessor, **payload(folder, r))
                          for r in read_manifest(manifest)[:40]])
    assert np.max(np.abs(ort_probs - eager)) < 1e-4
    assert (ort_probs.argmax(1) == eager.argmax(1)).all()


def test_model_diffs_and_agreement_cover_every_engine_model(artifacts, graph):
    onnx_dir = artifacts.onnx("demo")
    ref = ort_runners(graph, onnx_dir)
    diffs = model_diffs(graph, artifacts.manifest("test"), ref, ref)
    assert set(diffs) == {m.name for m in graph.encoders + (graph.fusion,)} and max(diffs.values()) == 0.0
    batches = heldout_batches(graph, artifacts.manifest("test"), limit=16)
    agree = end_to_end(graph, batches, ref, ref)
    assert (agree.samples, agree.top1_agreement, agree.max_prob_diff) == (16, 1.0, 0.0)
