"""Optimisation profiles come from the spec: one per length bucket, batch from the serving policy
of the engines (tensorrt target), frames and tokens from their Dims and buckets."""

from __future__ import annotations

import pytest

from mmtriton.engine.profiles import BuildOptions, Precision, engine_profiles, profiles_to_json
from mmtriton.errors import EngineError

# Read from the demo preset by hand: 16 kHz, hop 160, a centred STFT -> 1 + samples // hop frames;
# audio buckets 1.5 and 3 s; token buckets 16 and 32; the tensorrt policy prefers batches of 8 and
# 16 (encoders) and 16 and 32 (fusion), max_batch_size 32.
FRAME_BUCKETS = ((11, 151), (152, 301))
TOKEN_BUCKETS = ((1, 16), (17, 32))


@pytest.fixture()
def engines(graph):
    return graph.for_target("tensorrt")


def test_audio_gets_one_profile_per_bucket_tuned_at_the_largest_preferred_batch(engines):
    spec = engines.audio_encoder
    mel, length = spec.input_names
    profiles = engine_profiles(spec)
    assert len(profiles) == len(FRAME_BUCKETS) == spec.profile_count
    for p, (lo, hi) in zip(profiles, FRAME_BUCKETS):
        assert (p[mel].min, p[mel].opt, p[mel].max) == ((1, lo, 64), (16, hi, 64), (32, hi, 64))
        assert (p[length].min, p[length].opt, p[length].max) == ((1, 1), (16, 1), (32, 1))


def test_text_ids_and_mask_share_each_bucket(engines):
    spec = engines.text_encoder
    ids, mask = spec.input_names
    assert spec.inputs[0].dtype.tensorrt_name == "INT32"  # decided once in the dtype table
    for p, (lo, hi) in zip(engine_profiles(spec), TOKEN_BUCKETS, strict=True):
        assert p[ids] == p[mask]
        assert (p[ids].min, p[ids].opt, p[ids].max) == ((1, lo), (16, hi), (32, hi))


def test_every_length_in_range_has_exactly_one_profile(engines):
    for spec, axis in ((engines.audio_encoder, 1), (engines.text_encoder, 1)):
        name = spec.input_names[0]
        dim = spec.bucketed_dim
        for length in range(dim.min, dim.max + 1):
            holding = [p for p in engine_profiles(spec) if p[name].min[axis] <= length <= p[name].max[axis]]
            assert len(holding) == 1, (spec.name, length)
            assert holding[0][name].opt[axis] == dim.bucket(length)


def test_unbucketed_models_get_one_profile_at_the_policy_batch(engines, graph):
    for spec, opt_batch in ((engines.image_encoder, 16), (engines.fusion, 32)):
        (p,) = engine_profiles(spec)
        for t in spec.inputs:
            assert p[t.name].opt[0] == opt_batch and p[t.name].max[0] == 32 and p[t.name].min[0] == 1
    # the embedded policy does not batch the image encoder: its profile falls back to opt_batch_size
    (p,) = engine_profiles(graph.image_encoder)
    assert p[graph.image_encoder.input_names[0]].opt[0] == graph.image_encoder.opt_batch_size


def test_profiles_serialise_in_build_order(engines):
    as_json = profiles_to_json(engine_profiles(engines.text_encoder))
    ids = engines.text_encoder.input_names[0]
    assert [p[ids]["max"] for p in as_json] == [[32, hi] for _, hi in TOKEN_BUCKETS]


def test_build_options_validate_and_convert():
    assert BuildOptions(Precision.FP16, workspace_mib=512).workspace_bytes == 512 * 1024 * 1024
    assert Precision("int8") is Precision.INT8
    with pytest.raises(EngineError, match="too small"):
        BuildOptions(workspace_mib=8)
    with pytest.raises(EngineError, match="calibration"):
        BuildOptions(calibration_batches=0)
