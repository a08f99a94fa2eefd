"""config.pbtxt files are generated; the committed ones must equal what the generator writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as pb

from mmtriton.errors import RepositoryError
from mmtriton.repository.config import HEADER, Target, model_config
from mmtriton.repository.writer import SOURCE, write_configs, write_repository
from mmtriton.spec.tensors import BatchingSpec


def test_committed_configs_match_the_generator(graph, tmp_path):
    written = write_configs(graph, Target.EMBEDDED, tmp_path)
    assert len(written) == 2 * len(graph.models) + 2 * len(graph.ensembles), "configs + model.py + ensembles + labels"
    for path in written:
        committed = SOURCE / path.relative_to(tmp_path)
        assert committed.is_file(), f"{committed} is missing; run `mmtriton repo`"
        assert committed.read_text() == path.read_text(), f"{committed} drifted from the spec; run `mmtriton repo`"


def _parse(path: Path):
    text = path.read_text()
    assert text.startswith(HEADER)
    return text_format.Parse(text, pb.ModelConfig())


@pytest.mark.parametrize("target,platform", [(Target.ONNXRUNTIME, "onnxruntime_onnx"), (Target.TENSORRT, "tensorrt_plan")])
def test_other_targets_change_only_encoders_and_fusion_runtimes(graph, tmp_path, target, platform):
    write_configs(graph, target, tmp_path / "t")
    write_configs(graph, Target.EMBEDDED, tmp_path / "e")
    native = {m.name for m in graph.encoders} | {graph.fusion.name}
    for m in graph.models:
        cfg, emb = _parse(tmp_path / "t" / m.name / "config.pbtxt"), _parse(tmp_path / "e" / m.name / "config.pbtxt")
        assert (list(cfg.input), list(cfg.output)) == (list(emb.input), list(emb.output)) or m.name in native
        if m.name in native:
            assert cfg.platform == platform and not cfg.backend
            assert not any(i.allow_ragged_batch for i in cfg.input)  # native backends cannot pad ragged inputs
        elif target is Target.ONNXRUNTIME:
            assert cfg == emb  # CPU target: the CPU-tuned policy as is
        else:
            assert cfg.backend == "python" and cfg.instance_group[0].kind == pb.ModelInstanceGroup.KIND_CPU
    assert (tmp_path / "t" / "multimodal" / "config.pbtxt").read_text() == (tmp_path / "e" / "multimodal" / "config.pbtxt").read_text()


def test_tensorrt_target_takes_its_serving_policy_from_the_spec(graph, tmp_path):
    from mmtriton.spec.serving import target_overrides

    policy = target_overrides(Target.TENSORRT.value)
    write_configs(graph, Target.TENSORRT, tmp_path)
    for name, b in policy.items():
        cfg = _parse(tmp_path / name / "config.pbtxt")
        assert cfg.instance_group[0].count == b.instances
        if name in {m.name for m in graph.preprocessing_models} and not b.dynamic:
            assert not cfg.HasField("dynamic_batching"), "no queue policy before the ensemble's sibling steps"
            continue
        if not b.dynamic and any(policy[p.name].dynamic for p in graph.producers(name)):
            assert not cfg.HasField("dynamic_batching"), f"{name}: no policy after a batching step"
            continue
        expected = list(b.preferred_batch_sizes) if b.dynamic else [1]
        assert list(cfg.dynamic_batching.preferred_batch_size) == expected
    assert target_overrides(Target.ONNXRUNTIME.value) == {}


def test_configs_carry_spec_names_types_and_policies(graph):
    batched = BatchingSpec(dynamic=True, preferred_batch_sizes=(2, 4), max_queue_size=64, instances=3)
    graph = graph.with_batching({graph.audio_encoder.name: batched})  # independent of the tuned defaults
    cfg = model_config(graph.audio_encoder, graph, Target.EMBEDDED, python=True)
    assert [i.name for i in cfg.input] == list(graph.audio_encoder.input_names)
    assert cfg.input[0].allow_ragged_batch and list(cfg.input[0].dims) == [-1, graph.preset.audio.n_mels]
    assert cfg.max_batch_size == graph.audio_encoder.max_batch_size
    b = graph.audio_encoder.batching
    assert list(cfg.dynamic_batching.preferred_batch_size) == list(b.preferred_batch_sizes)
    policy = cfg.dynamic_batching.default_queue_policy
    assert policy.max_queue_size == b.max_queue_size and policy.timeout_action == pb.ModelQueuePolicy.REJECT
    assert cfg.instance_group[0].count == b.instances
    unbatched = graph.with_batching({graph.audio_encoder.name: BatchingSpec(dynamic=False)})
    plain = model_config(unbatched.audio_encoder, unbatched, Target.EMBEDDED, python=True).dynamic_batching
    assert list(plain.preferred_batch_size) == [1] and plain.max_queue_delay_microseconds == 0
    assert plain.default_queue_policy.default_timeout_microseconds == BatchingSpec().queue_timeout_us, "still bounded"
    assert plain.default_queue_policy.timeout_action == pb.ModelQueuePolicy.REJECT
    gpu = model_config(graph.image_encoder, graph, Target.TENSORRT, python=False)
    assert gpu.instance_group[0].kind == pb.ModelInstanceGroup.KIND_GPU


def test_ensemble_inputs_are_optional_bytes(graph, tmp_path):
    write_configs(graph, Target.EMBEDDED, tmp_path)
    ens = _parse(tmp_path / graph.ensemble.name / "config.pbtxt")
    assert ens.platform == "ensemble"
    assert all(i.optional and i.data_type == pb.TYPE_STRING for i in ens.input)
    assert [s.model_name for s in ens.ensemble_scheduling.step] == [s.model for s in graph.ensemble.steps]


def test_missing_model_files_are_a_clear_error(graph, tmp_path):
    with pytest.raises(RepositoryError, match="mmtriton export"):
        write_repository(graph, Target.EMBEDDED, tmp_path / "r", tmp_path / "no-onnx", tmp_path / "tok.json")


def test_unbatched_model_after_a_batching_step_has_no_queue_policy(graph):
    """A queue policy turns off Triton's batcher prefetching; an unbatched model fed by a batching
    step would then drain each burst one request per 500 ms poll (model_repository/README.md)."""
    post = graph.postprocess.name
    unbatched = BatchingSpec(dynamic=False)
    calm = graph.with_batching({graph.fusion.name: unbatched, post: unbatched})
    bursty = graph.with_batching({graph.fusion.name: BatchingSpec(dynamic=True), post: unbatched})
    plain = model_config(calm.postprocess, calm, Target.EMBEDDED, python=True)
    assert list(plain.dynamic_batching.preferred_batch_size) == [1] and plain.dynamic_batching.default_queue_policy
    after_batcher = model_config(bursty.postprocess, bursty, Target.EMBEDDED, python=True)
    assert not after_batcher.HasField("dynamic_batching")
    fusion = model_config(bursty.fusion, bursty, Target.EMBEDDED, python=True)
    assert fusion.dynamic_batching.default_queue_policy.default_timeout_microseconds > 0, "the feeding step is bounded"


def test_the_ensembles_label_the_probabilities_for_the_classification_extension(graph, tmp_path):
    """Triton answers ``class_count`` / ``classification`` with ``score:index:label`` strings
    from the output's label file: one class name per line, in index order."""
    write_configs(graph, Target.EMBEDDED, tmp_path)
    for ens in graph.ensembles:
        cfg = _parse(tmp_path / ens.name / "config.pbtxt")
        labelled = {o.name: o.label_filename for o in cfg.output if o.label_filename}
        assert labelled == {graph.probabilities.name: "labels.txt"}
        assert (tmp_path / ens.name / "labels.txt").read_text().splitlines() == list(graph.class_names)


# ---- length buckets -----------------------------------------------------------------------------


def _bucket_view(root: Path, graph) -> dict[str, tuple]:
    """Per model: (length_buckets parameter, any ragged input, engine profiles listed)."""
    out = {}
    for m in graph.models:
        cfg = _parse(root / m.name / "config.pbtxt")
        param = cfg.parameters["length_buckets"].string_value if "length_buckets" in cfg.parameters else ""
        out[m.name] = (param, any(i.allow_ragged_batch for i in cfg.input), list(cfg.instance_group[0].profile))
    return out


def test_tensorrt_preprocessing_pads_to_buckets_and_engines_list_every_bucket_profile(graph, tmp_path):
    write_configs(graph, Target.TENSORRT, tmp_path)
    view = _bucket_view(tmp_path, graph)
    for m in ("audio", "text"):
        assert view[graph.preprocess(m).name][0] == "true"
        assert view[graph.encoder(m).name] == ("", False, ["0", "1"])  # demo: 2 buckets each
    assert view[graph.image_preprocess.name][0] == "" and view[graph.image_encoder.name][2] == []
    assert view[graph.fusion.name][2] == []


def test_embedded_pads_per_batch_unless_buckets_are_forced_on(graph, tmp_path):
    write_configs(graph, Target.EMBEDDED, tmp_path / "auto")
    auto = _bucket_view(tmp_path / "auto", graph)
    assert not any(param for param, _, _ in auto.values())
    assert auto[graph.audio_encoder.name][1] and auto[graph.text_encoder.name][1], "python encoders take ragged batches"
    write_configs(graph, Target.EMBEDDED, tmp_path / "on", buckets=True)
    on = _bucket_view(tmp_path / "on", graph)
    for m in ("audio", "text"):
        assert on[graph.preprocess(m).name][0] == "true"
        assert not on[graph.encoder(m).name][1], "in buckets the encoder batches equal shapes only, as an engine"
        assert on[graph.encoder(m).name][2] == [], "profiles are a TensorRT setting"
    assert on[graph.image_preprocess.name][0] == ""


def test_onnxruntime_buckets_only_when_its_encoders_batch(graph, tmp_path):
    write_configs(graph, Target.ONNXRUNTIME, tmp_path / "cpu")  # the CPU-tuned policy runs encoders unbatched
    assert not any(param for param, _, _ in _bucket_view(tmp_path / "cpu", graph).values())
    batching = graph.with_batching({graph.audio_encoder.name: BatchingSpec(dynamic=True)})
    write_configs(batching, Target.ONNXRUNTIME, tmp_path / "batched")
    view = _bucket_view(tmp_path / "batched", graph)
    assert view[graph.audio_preprocess.name][0] == "true" and view[graph.text_preprocess.name][0] == ""
