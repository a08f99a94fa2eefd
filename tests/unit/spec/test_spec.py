"""The spec registry: presets build, bad specs fail early with SpecError, shapes and dtypes agree."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmtriton.errors import SpecError
from mmtriton.spec import (
    PRESETS, BatchingSpec, Dim, DType, ModelSpec, TensorSpec, get_graph, get_preset, validate_ensemble,
)
from mmtriton.spec.presets import AudioConfig, ImageConfig, Preset, TextConfig


def _fp32(name: str, *dims) -> TensorSpec:
    return TensorSpec(name, DType.FP32, tuple(dims) or (4,))


def _frames_at(seconds: float, cfg: AudioConfig) -> int:
    """Frames of a centred STFT (librosa center=True): one frame per hop, plus the first."""
    samples = int(round(seconds * cfg.sample_rate))
    return samples // cfg.hop_length + 1


# ---- presets and graphs -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo", "production"])
def test_every_preset_builds_a_valid_graph(name):
    g = get_graph(name)
    assert g.preset.name == name
    assert len(g.models) == 8
    assert len({m.name for m in g.models}) == 8
    for ens in g.ensembles:
        validate_ensemble(g, ens)  # the shipped graphs pass their own check


def test_get_graph_is_cached():
    assert get_graph("demo") is get_graph("demo")


def test_presets_differ_in_size():
    demo, prod = get_graph("demo"), get_graph("production")
    assert demo.image_encoder.inputs[0].dims != prod.image_encoder.inputs[0].dims
    assert demo.preset.text.max_tokens < prod.preset.text.max_tokens


def test_unknown_preset_raises_spec_error_naming_choices():
    with pytest.raises(SpecError, match=r"unknown preset 'huge'.*demo.*production"):
        get_preset("huge")
    with pytest.raises(SpecError):
        get_graph("huge")


def test_model_lookup_by_name(graph):
    assert graph.model(graph.fusion.name) is graph.fusion
    with pytest.raises(SpecError, match="no model named"):
        graph.model("no_such_model")


# ---- validation in __post_init__ ----------------------------------------------------------------


@pytest.mark.parametrize("mn,op,mx", [(5, 4, 8), (1, 9, 8), (0, 1, 2), (3, 3, 2)])
def test_dim_out_of_order_raises(mn, op, mx):
    with pytest.raises(SpecError, match="min <= opt <= max"):
        Dim("frames", mn, op, mx)


def test_dim_in_order_is_accepted():
    d = Dim("frames", 1, 1, 1)
    assert (d.min, d.opt, d.max) == (1, 1, 1)


@pytest.mark.parametrize("name", ["input ids", "1st", "pixel-values", ""])
def test_non_identifier_tensor_name_raises(name):
    with pytest.raises(SpecError, match="identifier"):
        TensorSpec(name, DType.FP32, (3,))


def test_static_dim_below_one_raises():
    with pytest.raises(SpecError, match="static dims"):
        TensorSpec("x", DType.FP32, (3, 0))


def test_duplicate_tensor_names_in_model_raise():
    with pytest.raises(SpecError, match="duplicate"):
        ModelSpec("m", (_fp32("x"),), (_fp32("x"),), max_batch_size=8, opt_batch_size=4)
    with pytest.raises(SpecError, match="duplicate"):
        ModelSpec("m", (_fp32("x"), _fp32("x")), (_fp32("y"),), max_batch_size=8, opt_batch_size=4)


@pytest.mark.parametrize("opt,mx", [(9, 8), (0, 8)])
def test_opt_batch_outside_range_raises(opt, mx):
    with pytest.raises(SpecError, match="opt_batch_size"):
        ModelSpec("m", (_fp32("x"),), (_fp32("y"),), max_batch_size=mx, opt_batch_size=opt,
                  batching=BatchingSpec(preferred_batch_sizes=(1,)))


def test_preferred_batch_sizes_above_max_raise():
    with pytest.raises(SpecError, match="preferred batch sizes"):
        ModelSpec("m", (_fp32("x"),), (_fp32("y"),), max_batch_size=4, opt_batch_size=2,
                  batching=BatchingSpec(preferred_batch_sizes=(2, 8)))


def test_invalid_batching_policy_raises():
    with pytest.raises(SpecError):
        BatchingSpec(instances=0)


@pytest.mark.parametrize("change", [
    {"image": ImageConfig(size=16)},
    {"audio": AudioConfig(min_seconds=3.0, max_seconds=3.0)},
    {"text": TextConfig(max_tokens=2)},
])
def test_inconsistent_preset_raises(change):
    with pytest.raises(SpecError):
        dataclasses.replace(get_preset("demo"), **change)


def test_preset_registry_holds_both_presets():
    assert set(PRESETS) == {"demo", "production"}
    assert all(isinstance(p, Preset) for p in PRESETS.values())


# ---- validate_ensemble --------------------------------------------------------------------------


def test_ensemble_reading_a_tensor_before_it_is_produced_raises(graph):
    reversed_steps = dataclasses.replace(graph.ensemble, steps=tuple(reversed(graph.ensemble.steps)))
    broken = dataclasses.replace(graph, ensemble=reversed_steps)
    with pytest.raises(SpecError, match="before any step produces it"):
        validate_ensemble(broken)


def test_ensemble_step_with_mismatched_dtype_raises(graph):
    pixels = graph.image_encoder.inputs[0]
    half = dataclasses.replace(pixels, dtype=DType.FP16)
    encoder = dataclasses.replace(graph.image_encoder, inputs=(half,) + graph.image_encoder.inputs[1:])
    with pytest.raises(SpecError, match="does not match"):
        validate_ensemble(dataclasses.replace(graph, image_encoder=encoder))


def test_ensemble_step_with_mismatched_shape_raises(graph):
    pixels = graph.image_encoder.inputs[0]
    smaller = dataclasses.replace(pixels, dims=(3, 32, 32))
    encoder = dataclasses.replace(graph.image_encoder, inputs=(smaller,) + graph.image_encoder.inputs[1:])
    with pytest.raises(SpecError, match="does not match"):
        validate_ensemble(dataclasses.replace(graph, image_encoder=encoder))


def test_ensemble_output_produced_by_no_step_raises(graph):
    without_last = tuple(s for s in graph.ensemble.steps if s.model != graph.postprocess.name)
    broken = dataclasses.replace(graph, ensemble=dataclasses.replace(graph.ensemble, steps=without_last))
    with pytest.raises(SpecError, match="produced by no step"):
        validate_ensemble(broken)


def test_ensemble_step_mapping_an_unknown_model_input_raises(graph):
    first = graph.ensemble.steps[0]
    bad = dataclasses.replace(first, input_map={"not_an_input": next(iter(first.input_map.values()))})
    steps = (bad,) + graph.ensemble.steps[1:]
    with pytest.raises(SpecError, match="no tensor 'not_an_input'"):
        validate_ensemble(dataclasses.replace(graph, ensemble=dataclasses.replace(graph.ensemble, steps=steps)))


def test_ensemble_inputs_are_optional_bytes_and_outputs_come_from_fusion(graph):
    assert len(graph.ensemble.inputs) == 3
    for t in graph.ensemble.inputs:
        assert t.dtype is DType.BYTES
        assert t.optional
    produced = graph.fusion.outputs + graph.postprocess.outputs + tuple(e.outputs[0] for e in graph.encoders)
    assert set(graph.ensemble.outputs) == set(produced)
    assert graph.tensor_ensemble.outputs == graph.ensemble.outputs
    assert graph.ensemble.max_batch_size == graph.preset.max_batch_size


def test_each_preprocessing_model_reads_only_raw_ensemble_inputs(graph):
    raw = set(graph.ensemble.inputs)
    for m in (graph.image_preprocess, graph.audio_preprocess, graph.text_preprocess):
        assert m.inputs and set(m.inputs) <= raw


# ---- shapes, profiles, names --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo", "production"])
def test_profiles_include_batch_and_match_dims(name):
    g = get_graph(name)
    for m in g.models:
        profiles = m.profiles()
        assert set(profiles) == set(m.input_names)
        for t in m.inputs:
            p = profiles[t.name]
            for shape, batch, attr in ((p.min, 1, "min"), (p.opt, m.opt_batch_size, "opt"),
                                       (p.max, m.max_batch_size, "max")):
                assert len(shape) == len(t.dims) + 1
                assert shape[0] == batch
                for got, d in zip(shape[1:], t.dims):
                    assert got == (getattr(d, attr) if isinstance(d, Dim) else d)
            assert all(a <= b <= c for a, b, c in zip(p.min, p.opt, p.max))


def test_demo_audio_and_text_profiles_have_expected_values(graph):
    a, t = graph.preset.audio, graph.preset.text
    log_mel = graph.audio_encoder.inputs[0]
    p = graph.audio_encoder.profiles()[log_mel.name]
    frames_min, frames_max = _frames_at(a.min_seconds, a), _frames_at(a.max_seconds, a)
    assert (frames_min, frames_max) == (11, 301)  # 0.1 s and 3 s at 16 kHz, hop 160
    assert p.min == (1, frames_min, a.n_mels)
    assert p.max == (graph.preset.max_batch_size, frames_max, a.n_mels)
    ids = graph.text_encoder.inputs[0]
    q = graph.text_encoder.profiles()[ids.name]
    assert q.min == (1, 1)
    assert q.max == (graph.preset.max_batch_size, t.max_tokens)


def test_config_dims_use_minus_one_for_dynamic_axes(graph):
    log_mel = graph.audio_encoder.inputs[0]
    assert log_mel.config_dims == (-1, graph.preset.audio.n_mels)
    assert log_mel.dynamic_axes.keys() == {1}
    pixels = graph.image_encoder.inputs[0]
    size = graph.preset.image.size
    assert pixels.config_dims == (3, size, size)
    assert pixels.dynamic_axes == {}
    for t in graph.text_encoder.inputs:
        assert t.config_dims == (-1,)


def test_config_dims_for_a_hand_built_tensor():
    t = TensorSpec("x", DType.FP32, (2, Dim("a", 1, 2, 3), 5, Dim("b", 4, 4, 4)))
    assert t.config_dims == (2, -1, 5, -1)
    assert t.shape(7, "max") == (7, 2, 3, 5, 4)
    assert t.shape(1, "min") == (1, 2, 1, 5, 4)


@pytest.mark.parametrize("name", ["demo", "production"])
def test_tensor_names_unique_within_each_model(name):
    for m in get_graph(name).models:
        names = m.input_names + m.output_names
        assert len(names) == len(set(names)), m.name
        assert all(n.isidentifier() for n in names)


def test_tensors_shared_between_models_are_the_same_spec(graph):
    """An encoder's input is exactly what its preprocessing model outputs (same name, dtype, dims)."""
    pairs = ((graph.image_preprocess, graph.image_encoder), (graph.audio_preprocess, graph.audio_encoder),
             (graph.text_preprocess, graph.text_encoder))
    for pre, enc in pairs:
        for t in enc.inputs:
            assert pre.output(t.name) == t


def test_model_input_lookup_of_unknown_name_raises(graph):
    with pytest.raises(SpecError, match="has no tensor"):
        graph.fusion.input("nope")
    with pytest.raises(SpecError, match="has no tensor"):
        graph.fusion.output("nope")


# ---- dtype table --------------------------------------------------------------------------------


def test_dtype_numpy_mapping():
    assert DType.INT32.numpy == np.int32
    assert DType.INT64.numpy == np.int64
    assert DType.FP32.numpy == np.float32
    assert DType.FP16.numpy == np.float16
    assert DType.BOOL.numpy == np.bool_
    assert DType.BYTES.numpy == np.dtype(object)


@pytest.mark.parametrize("dtype,config,wire", [
    (DType.FP32, "TYPE_FP32", "FP32"), (DType.FP16, "TYPE_FP16", "FP16"), (DType.INT32, "TYPE_INT32", "INT32"),
    (DType.INT64, "TYPE_INT64", "INT64"), (DType.BOOL, "TYPE_BOOL", "BOOL"), (DType.BYTES, "TYPE_STRING", "BYTES"),
])
def test_dtype_triton_names(dtype, config, wire):
    assert dtype.triton_config == config
    assert dtype.triton_wire == wire


def test_dtype_torch_mapping():
    torch = pytest.importorskip("torch", reason="torch comes with the train extra")
    assert DType.FP32.torch() is torch.float32
    assert DType.INT32.torch() is torch.int32
    assert DType.BOOL.torch() is torch.bool
    with pytest.raises(TypeError, match="BYTES"):
        DType.BYTES.torch()


def test_token_ids_and_masks_are_int32(graph):
    for t in graph.text_encoder.inputs:
        assert t.dtype is DType.INT32


def test_producers_follow_the_ensemble_wiring(graph):
    # postprocess publishes every output, so it reads the encoders' embeddings too
    assert set(graph.producers(graph.postprocess.name)) == {graph.fusion, *graph.encoders, *graph.preprocessing_models}
    assert set(graph.encoders) <= set(graph.producers(graph.fusion.name))
    assert graph.producers(graph.image_encoder.name) == (graph.image_preprocess,)
    assert graph.producers(graph.image_preprocess.name) == ()


def test_tensors_are_found_by_role_not_by_position(graph):
    """Callers ask the spec what a tensor is; reordering a model's inputs changes nothing for them."""
    from mmtriton.export.onnx_export import example_inputs
    from mmtriton.spec import MODALITIES, Role

    for m in MODALITIES:
        assert graph.present(m).role is Role.PRESENT and graph.error(m).role is Role.ERROR
        assert graph.raw(m).name == graph.ensemble.parameters[f"input.{m}"] and graph.raw(m).role is Role.RAW
        assert graph.embedding(m) in graph.fusion.inputs and graph.present(m) in graph.fusion.inputs
        assert all(t.role in (Role.FEATURES, Role.LENGTH, Role.MASK) for t in graph.features(m))
    text = graph.text_encoder
    reordered = dataclasses.replace(text, inputs=tuple(reversed(text.inputs)))
    assert reordered.input_with(Role.MASK) == text.input_with(Role.MASK)
    mask = example_inputs(reordered)[text.input_with(Role.MASK).name]
    assert (mask == 1).all(), "the exporter's traced mask is a real mask whatever the input order"
    assert (example_inputs(graph.fusion)[graph.present("audio").name] == 1).all()
    with pytest.raises(SpecError, match="role"):
        graph.fusion.output_with(Role.MASK)


# ---- length buckets -----------------------------------------------------------------------------


def test_a_length_goes_to_the_smallest_bucket_that_holds_it():
    d = Dim("frames", 11, 101, 301, (101, 201, 301))
    assert [d.bucket(n) for n in (11, 100, 101, 102, 201, 202, 301)] == [101, 101, 101, 201, 201, 301, 301]
    assert d.bucket_ranges() == ((11, 101), (102, 201), (202, 301))
    assert Dim("tokens", 1, 16, 32).bucket(7) == 7, "no buckets: the length itself"
    with pytest.raises(SpecError, match="outside"):
        d.bucket(302)


@pytest.mark.parametrize("buckets", [(101, 201), (201, 101, 301), (5, 301), (101, 101, 301)])
def test_buckets_must_ascend_inside_the_range_and_end_at_max(buckets):
    with pytest.raises(SpecError, match="buckets"):
        Dim("frames", 11, 101, 301, buckets)


def test_presets_bucket_frames_and_tokens_from_seconds_and_token_counts(graph):
    assert graph.frames.buckets == (151, 301)  # 1.5 and 3 s: 1 + 16000 s // 160
    assert graph.tokens.buckets == (16, 32)
    assert get_graph("production").tokens.buckets[-1] == get_graph("production").preset.text.max_tokens
    with pytest.raises(SpecError, match="end at max_seconds"):
        dataclasses.replace(graph.preset, audio=dataclasses.replace(graph.preset.audio, bucket_seconds=(1.0, 2.0)))
    with pytest.raises(SpecError, match="end at max_tokens"):
        dataclasses.replace(graph.preset, text=dataclasses.replace(graph.preset.text, buckets=(8, 16)))
