"""Export every model with the dynamo exporter and prove ONNX Runtime == PyTorch at shapes other
than the traced ones, on real preprocessed samples."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import pytest
import torch

from mmtriton.errors import ParityError
from mmtriton.export.onnx_export import TRACE_BATCH
from mmtriton.models.runners import serving_modules
from mmtriton.export.parity import TOLERANCE, check_parity
from mmtriton.export.pipeline import export_all, verify_existing
from mmtriton.export.samples import RealInputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory, untrained_model, graph, tiny_data):
    out = tmp_path_factory.mktemp("onnx")
    return out, export_all(untrained_model, graph, tiny_data / "test.jsonl", out)


def test_every_model_passes_parity_at_untraced_shapes(exported, graph):
    _, summary = exported
    assert summary["passed"] and summary["max_abs_diff"] <= TOLERANCE
    models = {c["model"] for c in summary["cases"]}
    assert models == {m.name for m in (graph.image_encoder, graph.audio_encoder, graph.text_encoder, graph.fusion)}
    batches = {shape[0] for c in summary["cases"] for shape in c["shapes"].values()}
    assert {1, 3, 8, graph.preset.max_batch_size} <= batches and TRACE_BATCH not in batches
    frames = graph.audio_encoder.inputs[0].dims[0]
    audio_lengths = {c["shapes"][graph.audio_encoder.inputs[0].name][1] for c in summary["cases"] if c["model"] == "audio_encoder"}
    assert {frames.min, frames.max} <= audio_lengths
    token_lengths = {c["shapes"][graph.text_encoder.inputs[0].name][1] for c in summary["cases"] if c["model"] == "text_encoder"}
    assert {1, graph.preset.text.max_tokens} <= token_lengths


def test_onnx_files_carry_spec_names_and_dynamic_axes(exported, graph):
    out, _ = exported
    for spec in (graph.image_encoder, graph.audio_encoder, graph.text_encoder, graph.fusion):
        model = onnx.load(str(out / f"{spec.name}.onnx"))
        onnx.checker.check_model(model, full_check=True)
        assert [i.name for i in model.graph.input] == list(spec.input_names)
        assert [o.name for o in model.graph.output] == list(spec.output_names)
        assert model.opset_import[0].version == 18
        for inp, t in zip(model.graph.input, spec.inputs):
            dims = inp.type.tensor_type.shape.dim
            assert dims[0].dim_param  # batch is symbolic
            for axis in t.dynamic_axes:
                assert dims[axis].dim_param, f"{spec.name}.{t.name} axis {axis} is static"


def test_reverify_passes_and_a_changed_model_raises_parity_error(exported, untrained_model, graph, tiny_data):
    out, _ = exported
    assert verify_existing(untrained_model, graph, tiny_data / "test.jsonl", out)["passed"]
    changed = copy.deepcopy(untrained_model)
    with torch.no_grad():
        changed.fusion.classifier[1].bias[0] += 0.5  # a uniform shift would cancel in the softmax
    real = RealInputs(graph, tiny_data / "test.jsonl", _preprocessor(graph))
    embed = {k: np.random.default_rng(0).standard_normal((8, graph.preset.embed_dim)).astype(np.float32)
             for k in ("image", "audio", "text")}
    module = serving_modules(changed, graph)[graph.fusion.name]
    with pytest.raises(ParityError) as info:
        check_parity(out / "fusion.onnx", module, graph.fusion, real.fusion_cases(embed))
    assert info.value.max_abs_diff > TOLERANCE


def _preprocessor(graph):
    from mmtriton.preprocess import Preprocessor

    return Preprocessor(graph)
