"""The onnxruntime and tensorrt repositories, written from the real exported models, are whole:
every ensemble step exists, configs parse into ModelConfig, tensor names and dtypes match the
spec's dtype table and the ONNX graphs. No server is started; the GPU check serves them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmtriton.repository.config import Target
from mmtriton.repository.structure import onnx_io, parse_config, repository_problems
from mmtriton.repository.writer import write_configs, write_repository

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def onnx_dir(artifacts) -> Path:
    return artifacts.onnx("demo")


@pytest.fixture()
def ort_repo(graph, onnx_dir, tmp_path) -> Path:
    from mmtriton.resources import default_text_model

    tokenizer = Path(default_text_model()) / "tokenizer.json"
    return write_repository(graph, Target.ONNXRUNTIME, tmp_path / "ort", onnx_dir, tokenizer)


def test_onnxruntime_repository_is_whole(ort_repo, graph):
    assert repository_problems(ort_repo, graph, Target.ONNXRUNTIME) == []
    cfg = parse_config(ort_repo / graph.text_encoder.name / "config.pbtxt")
    assert cfg.platform == "onnxruntime_onnx"


def test_tensorrt_configs_match_the_graphs_the_engines_are_built_from(graph, onnx_dir, tmp_path):
    repo = tmp_path / "trt"
    write_configs(graph, Target.TENSORRT, repo)
    assert repository_problems(repo, graph, Target.TENSORRT, onnx_dir, require_files=False) == []
    from tritonclient.grpc import model_config_pb2 as pb

    for spec in graph.encoders + (graph.fusion,):
        cfg = parse_config(repo / spec.name / "config.pbtxt")
        assert cfg.platform == "tensorrt_plan" and cfg.instance_group[0].kind == pb.ModelInstanceGroup.KIND_GPU
        assert len(cfg.dynamic_batching.preferred_batch_size) > 1, "GPU engines batch (spec/serving_tensorrt.json)"
    post = parse_config(repo / graph.postprocess.name / "config.pbtxt")
    assert post.parameters["FORCE_CPU_ONLY_INPUT_TENSORS"].string_value == "yes"
    # Without model files a tensorrt repository is incomplete, and the check says exactly what is missing.
    missing = repository_problems(repo, graph, Target.TENSORRT, onnx_dir, require_files=True)
    assert any(p.endswith("model.plan is missing") for p in missing)


def test_onnx_graph_io_uses_the_dtype_table(graph, onnx_dir):
    ins, outs = onnx_io(onnx_dir / f"{graph.text_encoder.name}.onnx")
    assert ins == {t.name: "TYPE_INT32" for t in graph.text_encoder.inputs}  # int32 ids, decided in the spec
    assert outs == {graph.text_encoder.outputs[0].name: "TYPE_FP32"}


def test_renamed_tensor_missing_step_and_swapped_graph_are_caught(ort_repo, graph, onnx_dir):
    cfg = ort_repo / graph.fusion.name / "config.pbtxt"
    cfg.write_text(cfg.read_text().replace(f'"{graph.fusion.outputs[0].name}"', '"probs"'))
    shutil.copy(onnx_dir / f"{graph.image_encoder.name}.onnx", ort_repo / graph.audio_encoder.name / "1" / "model.onnx")
    shutil.rmtree(ort_repo / graph.postprocess.name)
    problems = "\n".join(repository_problems(ort_repo, graph, Target.ONNXRUNTIME))
    assert f"{graph.fusion.name}: config outputs" in problems
    assert f"{graph.audio_encoder.name}: ONNX graph model.onnx inputs" in problems
    assert f"step model '{graph.postprocess.name}' has no folder" in problems
