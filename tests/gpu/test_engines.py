"""TensorRT engines on the GPU: parity with ONNX Runtime on the held-out split, manifests, reuse,
and the server-side refusal of engines built for something else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmtriton.engine.parity import end_to_end, heldout_batches, model_diffs, trt_runners
from mmtriton.runtime import ort_runners

pytestmark = pytest.mark.gpu

FP32_MAX_ABS = 1e-3
FP16_TOP1 = 0.995
FP16_PROB = 1e-2


@pytest.fixture(scope="module")
def reference(artifacts, graph):
    return ort_runners(graph, artifacts.onnx("demo"), threads=4)


@pytest.fixture(scope="module")
def heldout(artifacts, graph):
    return heldout_batches(graph, artifacts.manifest("test"), limit=1200)


def test_fp32_engines_match_onnxruntime_per_model(artifacts, graph, fp32_engines, reference):
    diffs = model_diffs(graph, artifacts.manifest("test"), reference, trt_runners(graph, fp32_engines))
    assert set(diffs) == {m.name for m in graph.encoders + (graph.fusion,)}
    assert max(diffs.values()) <= FP32_MAX_ABS, diffs


def test_fp32_engines_agree_end_to_end(graph, fp32_engines, reference, heldout):
    r = end_to_end(graph, heldout, reference, trt_runners(graph, fp32_engines))
    assert r.samples >= 1000 and r.top1_agreement == 1.0 and r.max_prob_diff <= FP32_MAX_ABS, r


def test_fp16_engines_keep_top1_and_probabilities(graph, fp16_engines, reference, heldout):
    r = end_to_end(graph, heldout, reference, trt_runners(graph, fp16_engines))
    assert r.top1_agreement >= FP16_TOP1 and r.max_prob_diff <= FP16_PROB, r


def test_manifest_records_the_engine_and_a_second_build_reuses_it(graph, device, fp16_engines, build_engines_into):
    from mmtriton.engine.manifest import read_manifest

    for spec in graph.encoders + (graph.fusion,):
        m = read_manifest(fp16_engines / f"{spec.name}.manifest.json")
        assert (m.gpu_name, m.compute_capability, m.tensorrt_version) == (device.gpu_name, device.compute_capability,
                                                                          device.tensorrt_version)
        assert m.inputs == {t.name: t.dtype.name for t in spec.inputs} and m.precision == "fp16"
    again = build_engines_into(fp16_engines, "fp16")
    assert {r.status for r in again} == {"reused"}


def test_server_side_check_accepts_this_gpu_and_refuses_another(artifacts, graph, device, fp16_engines, tmp_path):
    from mmtriton.engine.device import DeviceInfo
    from mmtriton.engine.verify import check_engines
    from mmtriton.errors import EngineError
    from mmtriton.repository.config import Target
    from mmtriton.repository.structure import repository_problems
    from mmtriton.repository.writer import write_repository
    from mmtriton.resources import default_text_model

    repo = write_repository(graph, Target.TENSORRT, tmp_path / "repo", fp16_engines,
                            Path(default_text_model()) / "tokenizer.json")
    assert repository_problems(repo, graph, Target.TENSORRT, artifacts.onnx("demo")) == []
    assert check_engines(repo, device) == 4
    other = dataclasses.replace(device, compute_capability="7.5", gpu_name="Tesla T4")
    with pytest.raises(EngineError, match="compute capability"):
        check_engines(repo, other)


def test_every_length_bucket_has_its_profile_and_padding_keeps_the_embedding(graph, fp32_engines):
    """One profile per bucket (engine/profiles.py): a bucket's own shape selects its profile, and a
    clip padded to its bucket gives the embedding of the unpadded clip (masking, FP32)."""
    import numpy as np

    from mmtriton.engine.runner import TrtRunner
    from mmtriton.preprocess.batching import pad_length

    spec = graph.audio_encoder
    runner = TrtRunner(fp32_engines / f"{spec.name}.plan")
    assert runner.engine.num_optimization_profiles == spec.profile_count
    mel, length = spec.input_names
    rng = np.random.default_rng(0)
    for k, (lo, hi) in enumerate(graph.frames.bucket_ranges()):
        clip = rng.normal(-6.0, 2.0, (1, lo, graph.preset.audio.n_mels)).astype(np.float32)
        n = np.array([[lo]], np.int32)
        assert runner.profile_for({mel: (1, hi, clip.shape[2]), length: (1, 1)}) == k
        own = runner({mel: clip, length: n})[graph.embedding("audio").name]
        padded = runner({mel: pad_length(clip, hi), length: n})[graph.embedding("audio").name]
        assert float(np.abs(own - padded).max()) <= FP32_MAX_ABS
