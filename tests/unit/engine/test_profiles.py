"""Optimisation profiles come from the spec: batch from max/opt batch size, frames and tokens from their Dims."""

from __future__ import annotations

import pytest

from mmtriton.engine.profiles import BuildOptions, Precision, engine_profiles, profiles_to_json
from mmtriton.errors import EngineError
from mmtriton.spec.tensors import Dim


def test_audio_profile_spans_batch_and_frames_from_the_spec(graph):
    spec = graph.audio_encoder
    frames = next(d for d in spec.inputs[0].dims if isinstance(d, Dim))
    mel_bins = graph.preset.audio.n_mels
    p = engine_profiles(spec)[spec.inputs[0].name]
    assert p.min == (1, frames.min, mel_bins)
    assert p.opt == (spec.opt_batch_size, frames.opt, mel_bins)
    assert p.max == (spec.max_batch_size, frames.max, mel_bins)
    lengths = engine_profiles(spec)[spec.inputs[1].name]
    assert (lengths.min, lengths.max) == ((1, 1), (spec.max_batch_size, 1))


def test_every_encoder_and_fusion_input_has_one_ordered_profile(graph):
    for spec in graph.encoders + (graph.fusion,):
        profiles = engine_profiles(spec)
        assert set(profiles) == set(spec.input_names)
        for p in profiles.values():
            assert all(a <= b <= c for a, b, c in zip(p.min, p.opt, p.max))


def test_text_profile_uses_token_range_and_int32_ids(graph):
    spec = graph.text_encoder
    ids = spec.inputs[0]
    assert ids.dtype.tensorrt_name == "INT32"  # decided once in the dtype table
    as_json = profiles_to_json(engine_profiles(spec))
    assert as_json[ids.name]["max"] == [spec.max_batch_size, graph.preset.text.max_tokens]
    assert as_json[ids.name]["min"] == [1, 1]


def test_build_options_validate_and_convert():
    assert BuildOptions(Precision.FP16, workspace_mib=512).workspace_bytes == 512 * 1024 * 1024
    assert Precision("int8") is Precision.INT8
    with pytest.raises(EngineError, match="too small"):
        BuildOptions(workspace_mib=8)
    with pytest.raises(EngineError, match="calibration"):
        BuildOptions(calibration_batches=0)
