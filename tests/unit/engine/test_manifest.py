"""Manifests decide rebuilds (builder) and refusals (server); both decisions are tested here."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mmtriton.engine.build import rebuild_reasons
from mmtriton.engine.device import DeviceInfo, same_tensorrt
from mmtriton.engine.manifest import (
    EngineManifest, differences, expected_manifest, read_manifest, runtime_mismatches, runtime_notes, sha256_file, write_manifest,
)
from mmtriton.engine.profiles import BuildOptions, Precision
from mmtriton.errors import EngineError

H200 = DeviceInfo("NVIDIA H200", "9.0", "10.13.3.9")


@pytest.fixture()
def onnx_file(tmp_path):
    path = tmp_path / "image_encoder.onnx"
    path.write_bytes(b"graph bytes v1")
    return path


def test_expected_manifest_records_source_device_precision_profiles_and_io(graph, onnx_file):
    import hashlib

    m = expected_manifest(graph.image_encoder, "demo", onnx_file, BuildOptions(Precision.FP16, 1024), H200)
    assert m.onnx_sha256 == hashlib.sha256(b"graph bytes v1").hexdigest() == sha256_file(onnx_file)
    assert (m.gpu_name, m.compute_capability, m.tensorrt_version) == ("NVIDIA H200", "9.0", "10.13.3.9")
    assert (m.precision, m.workspace_mib, m.preset) == ("fp16", 1024, "demo")
    name = graph.image_encoder.inputs[0].name
    assert len(m.profiles) == 1 and m.profiles[0][name]["max"][0] == graph.image_encoder.max_batch_size
    assert m.inputs == {name: "FP32"} and m.outputs == {graph.image_encoder.outputs[0].name: "FP32"}


def test_missing_onnx_is_a_clear_error(graph, tmp_path):
    with pytest.raises(EngineError, match="mmtriton export"):
        expected_manifest(graph.fusion, "demo", tmp_path / "nope.onnx", BuildOptions(), H200)


def test_builder_reuses_a_matching_engine_and_names_what_changed(graph, onnx_file, tmp_path):
    out = tmp_path / "engines"
    m = expected_manifest(graph.image_encoder, "demo", onnx_file, BuildOptions(), H200)
    assert rebuild_reasons(m, out) == ["no engine yet"]
    (out).mkdir()
    (out / "image_encoder.plan").write_bytes(b"\0")
    write_manifest(dataclasses.replace(m, build_seconds=12.5), out / "image_encoder.manifest.json")
    assert rebuild_reasons(m, out) == []  # build time is informational
    onnx_file.write_bytes(b"graph bytes v2")
    changed = expected_manifest(graph.image_encoder, "demo", onnx_file, BuildOptions(Precision.FP32), H200)
    reasons = rebuild_reasons(changed, out)
    assert any(r.startswith("onnx_sha256") for r in reasons) and any(r.startswith("precision") for r in reasons)
    other_gpu = expected_manifest(graph.image_encoder, "demo", onnx_file, BuildOptions(Precision.FP32),
                                  DeviceInfo("NVIDIA L4", "8.9", "10.13.3.9"))
    assert {r.split(":")[0] for r in differences(other_gpu, m)} >= {"gpu_name", "compute_capability"}


def test_corrupt_manifest_means_rebuild(graph, onnx_file, tmp_path):
    m = expected_manifest(graph.image_encoder, "demo", onnx_file, BuildOptions(), H200)
    (tmp_path / "image_encoder.plan").write_bytes(b"\0")
    (tmp_path / "image_encoder.manifest.json").write_text("{not json")
    assert "cannot read engine manifest" in rebuild_reasons(m, tmp_path)[0]


def test_manifest_round_trips_and_rejects_incomplete_files(graph, onnx_file, tmp_path):
    m = expected_manifest(graph.text_encoder, "demo", onnx_file, BuildOptions(), H200)
    path = write_manifest(m, tmp_path / "m.json")
    assert read_manifest(path) == m
    raw = json.loads(path.read_text())
    del raw["tensorrt_version"]
    path.write_text(json.dumps(raw))
    with pytest.raises(EngineError, match="tensorrt_version"):
        read_manifest(path)


def test_runtime_check_accepts_same_release_and_refuses_other_gpu_or_tensorrt(graph, onnx_file):
    m = expected_manifest(graph.fusion, "demo", onnx_file, BuildOptions(), H200)
    assert runtime_mismatches(m, DeviceInfo("NVIDIA H200", "9.0", "10.13.3.9")) == []
    assert runtime_mismatches(m, DeviceInfo("NVIDIA H200", "9.0", "10.13.3")) == []  # same release, shorter spelling
    assert "TensorRT 10.13.3.9" in runtime_mismatches(m, DeviceInfo("NVIDIA H200", "9.0", "10.14.1.48"))[0]
    assert "compute capability 9.0" in runtime_mismatches(m, DeviceInfo("NVIDIA L4", "8.9", "10.13.3.9"))[0]
    sibling = DeviceInfo("NVIDIA H100 80GB HBM3", "9.0", "10.13.3.9")  # same architecture: runs, worth a rebuild
    assert runtime_mismatches(m, sibling) == [] and "rebuild" in runtime_notes(m, sibling)[0]
    assert runtime_notes(m, DeviceInfo("NVIDIA H200", "9.0", "10.13.3.9")) == []
    assert same_tensorrt("10.13.3.9", "10.13.3.1") and not same_tensorrt("10.13.3.9", "10.13.2.9")
