"""The ONNX an engine is built from: converted once per exported ONNX and recipe, reconverted
after a retrain or a recipe change, and hashed into the engine manifest."""

from __future__ import annotations

import json

import pytest

from mmtriton.engine import converted, precision
from mmtriton.engine.device import DeviceInfo
from mmtriton.engine.manifest import expected_manifest, sha256_file
from mmtriton.engine.profiles import BuildOptions, Precision
from mmtriton.errors import EngineError


@pytest.fixture()
def exported(graph, tmp_path, monkeypatch):
    """An exported folder, a validation manifest, and a converter that records its calls."""
    onnx_dir = tmp_path / "demo" / "onnx"
    onnx_dir.mkdir(parents=True)
    for spec in graph.exported:
        (onnx_dir / f"{spec.name}.onnx").write_bytes(b"fp32:" + spec.name.encode())
    manifest = tmp_path / "val.jsonl"
    manifest.write_text("{}\n")
    calls = []

    def fake_convert(src, dst, prec, calib):
        calls.append((src.name, prec, calib.name))
        dst.write_bytes(f"{prec}:".encode() + src.read_bytes())

    def fake_calibration(graph, spec, onnx_dir, manifest, batches, out):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"{batches} batches")
        return out

    monkeypatch.setattr(converted, "convert_in_modelopt_env", fake_convert)
    monkeypatch.setattr(converted, "calibration_file", fake_calibration)
    return onnx_dir, manifest, calls


def test_fp32_builds_from_the_export_itself(graph, exported):
    onnx_dir, manifest, calls = exported
    assert converted.ensure_converted(graph, onnx_dir, "fp32", manifest) == onnx_dir and calls == []


def test_fp16_converts_every_model_once(graph, exported):
    onnx_dir, manifest, calls = exported
    folder = converted.ensure_converted(graph, onnx_dir, "fp16", manifest)
    assert folder == onnx_dir.parent / "onnx-fp16"
    assert sorted(c[0] for c in calls) == sorted(f"{m.name}.onnx" for m in graph.exported)
    assert all(c[1] == "fp16" for c in calls)
    assert (folder / "calibration" / f"{graph.fusion.name}.npz").read_text() == "16 batches"
    converted.ensure_converted(graph, onnx_dir, "fp16", manifest)
    assert len(calls) == len(graph.exported), "current conversions are kept"


def test_a_retrain_or_a_new_recipe_converts_again(graph, exported, monkeypatch):
    onnx_dir, manifest, calls = exported
    converted.ensure_converted(graph, onnx_dir, "int8", manifest, batches=4)
    assert (onnx_dir.parent / "onnx-int8" / "calibration" / f"{graph.text_encoder.name}.npz").read_text() == "4 batches"
    (onnx_dir / f"{graph.text_encoder.name}.onnx").write_bytes(b"retrained")
    converted.ensure_converted(graph, onnx_dir, "int8", manifest)
    assert [c[0] for c in calls[len(graph.exported):]] == [f"{graph.text_encoder.name}.onnx"]
    new = precision.Recipe("int8", precision.MODELOPT, (("calibration_method", "entropy"),))
    monkeypatch.setitem(precision.RECIPES, "int8", new)
    monkeypatch.setattr(converted, "recipe", precision.recipe)
    converted.ensure_converted(graph, onnx_dir, "int8", manifest)
    assert len(calls) == 2 * len(graph.exported) + 1
    stamp = json.loads((onnx_dir.parent / "onnx-int8" / precision.STAMP).read_text())
    assert {e["recipe"] for e in stamp.values()} == {new.id}


def test_the_engine_manifest_hashes_the_converted_graph_and_records_the_recipe(graph, exported):
    onnx_dir, manifest, _ = exported
    folder = converted.ensure_converted(graph, onnx_dir, "fp16", manifest)
    device = DeviceInfo("NVIDIA H100 80GB HBM3", "9.0", "11.4.0")
    m = expected_manifest(graph.fusion, "demo", folder / f"{graph.fusion.name}.onnx",
                          BuildOptions(precision=Precision.FP16), device)
    assert m.onnx_sha256 == sha256_file(folder / f"{graph.fusion.name}.onnx")
    assert m.onnx_sha256 != sha256_file(onnx_dir / f"{graph.fusion.name}.onnx")
    assert m.recipe == precision.RECIPES["fp16"].id and "modelopt" in m.recipe


def test_conversion_needs_the_validation_split(graph, exported, tmp_path):
    onnx_dir, _, _ = exported
    with pytest.raises(EngineError, match="validation split"):
        converted.ensure_converted(graph, onnx_dir, "fp16", tmp_path / "absent.jsonl")


def test_a_missing_modelopt_says_how_to_get_it(tmp_path, monkeypatch):
    """The real subprocess path, with an interpreter that has no ModelOpt (this venv)."""
    import sys

    monkeypatch.setenv(precision.PYTHON_ENV, sys.executable)
    src = tmp_path / "m.onnx"
    src.write_bytes(b"x")
    with pytest.raises(EngineError, match="scripts/modelopt-venv.sh"):
        precision.convert_in_modelopt_env(src, tmp_path / "out.onnx", "fp16", None)


def _graph(path, ops):
    import onnx
    from onnx import TensorProto, helper

    nodes, prev = [], "x"
    for i, op in enumerate(ops):
        nodes.append(helper.make_node("Identity", [prev], [f"t{i}"], name=f"{op.lower()}_{i}") if op == "Relu"
                     else helper.make_node(op, [prev, "w"], [f"t{i}"], name=f"{op.lower()}_{i}"))
        prev = f"t{i}"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(g), str(path))
    return path


def test_int8_keeps_the_stem_the_last_layers_and_the_head_in_fp32(tmp_path):
    tower = _graph(tmp_path / "tower.onnx", ["Conv"] * 8 + ["Relu", "Gemm"])
    assert precision.fp32_nodes(tower) == sorted(["conv_0", "conv_1", "conv_2", "conv_5", "conv_6", "conv_7", "gemm_9"])
    small = _graph(tmp_path / "small.onnx", ["MatMul"] * 4)
    assert precision.fp32_nodes(small) == ["matmul_0", "matmul_1", "matmul_2", "matmul_3"]
