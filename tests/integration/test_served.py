"""Served = offline, missing modalities, batch invariance: against the real embedded Triton."""

from __future__ import annotations

import io
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
import tritonclient.grpc as grpc
import tritonclient.http as http

from mmtriton.data.generate import read_manifest
from mmtriton.serving.check import agreement, offline_probabilities, served_outputs, subset_accuracy
from mmtriton.serving.requests import ensemble_inputs, ensemble_outputs
from mmtriton.spec import SUBSETS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def test_split(artifacts):
    manifest = artifacts.manifest("test")
    return manifest.with_suffix(""), read_manifest(manifest)


def test_served_equals_offline_on_the_held_out_split(grpc_client, offline, graph, test_split):
    folder, samples = test_split
    served = served_outputs(grpc_client, grpc, graph, folder, samples)
    probs = np.concatenate([o["probabilities"] for o in served])
    ref = offline_probabilities(*offline, folder, samples)
    result = agreement(probs, ref)
    assert result["samples"] == len(samples) == 1200
    assert result["top1_agreement"] == 1.0, result
    assert result["max_abs_prob_diff"] <= 1e-4, result
    labels = np.concatenate([o["label"][:, 0] for o in served])
    assert np.array_equal(labels, probs.argmax(1))


def test_every_modality_subset_answers(grpc_client, graph, test_split):
    folder, samples = test_split
    report = subset_accuracy(grpc_client, grpc, graph, folder, samples[:300])
    print("\nserved accuracy per modality subset:", json.dumps(report, indent=1))
    assert set(report) == {"+".join(s) for s in SUBSETS}
    assert all(r["samples"] > 0 for r in report.values())
    fused = report["image+audio+text"]["accuracy"]
    assert fused >= max(report[m]["accuracy"] for m in ("image", "audio", "text"))
    assert fused > 0.95


def test_missing_modalities_match_offline(grpc_client, offline, graph, test_split):
    folder, samples = test_split
    chosen = [s for s in samples if s.image and s.audio and s.text][:20]
    for subset in SUBSETS:
        served = np.concatenate([o["probabilities"] for o in served_outputs(grpc_client, grpc, graph, folder, chosen, subset)])
        ref = offline_probabilities(*offline, folder, chosen, subset)
        assert np.max(np.abs(served - ref)) <= 1e-4, subset


def _long_recording(data: bytes, total_s: float, offset_s: float, seed: int) -> bytes:
    """A held-out utterance ``offset_s`` into ``total_s`` of quiet room noise, at its own rate."""
    x, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    x, rng = x.mean(axis=1), np.random.default_rng(seed)
    before, after = int(offset_s * rate), max(0, int(total_s * rate) - int(offset_s * rate) - len(x))
    noise = lambda n: (0.002 * rng.standard_normal(n)).astype(np.float32)  # noqa: E731
    buf = io.BytesIO()
    sf.write(buf, np.concatenate([noise(before), x, noise(after)]), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_long_recordings_served_equal_offline(grpc_client, offline, graph, test_split):
    """Recordings far above the model's window (trimmed, then its loudest window) give the same
    answer served as offline on the same bytes."""
    from mmtriton.models.runners import eager_probabilities, torch_runners

    folder, samples = test_split
    chosen = [s for s in samples if s.audio and s.audio_state == "clean"][:24]
    rng = np.random.default_rng(5)
    cap = graph.preset.audio.max_input_seconds
    clips = []
    for i, s in enumerate(chosen):
        total = float(rng.uniform(graph.preset.audio.max_seconds + 1, min(30.0, cap)))
        clips.append(_long_recording((folder / s.audio).read_bytes(), total, float(rng.uniform(0, total - 3)), i))
    model, pre = offline
    runners = torch_runners(model, graph)
    ref = np.stack([eager_probabilities(model, pre, None, c, None, runners=runners) for c in clips])
    served = np.concatenate([grpc_client.infer(graph.ensemble.name, ensemble_inputs(grpc, graph, audio=c))
                             .as_numpy(graph.probabilities.name) for c in clips])
    result = agreement(served, ref)
    assert result["top1_agreement"] == 1.0 and result["max_abs_prob_diff"] <= 1e-4, result
    short = np.stack([eager_probabilities(model, pre, None, (folder / s.audio).read_bytes(), None, runners=runners)
                      for s in chosen])
    labels = np.array([s.label for s in chosen])
    print(f"\nlong recordings: {len(clips)}, audio-only accuracy {np.mean(served.argmax(1) == labels):.3f} "
          f"(the same utterances alone: {np.mean(short.argmax(1) == labels):.3f})")


def _stats(server, model: str) -> tuple[int, int]:
    req = urllib.request.Request(f"http://{server.cfg.http_url}/v2/models/{model}/stats", headers=server.cfg.admin_headers)
    with urllib.request.urlopen(req) as r:
        s = json.load(r)["model_stats"][0]
    return int(s["inference_count"]), int(s["execution_count"])


def _batched(server, graph, before: dict) -> bool:
    """Did any encoder run fewer executions than inferences since ``before`` (i.e. batch)?"""
    after = {m.name: _stats(server, m.name) for m in graph.encoders}
    return any((a[1] - before[n][1]) < (a[0] - before[n][0]) for n, a in after.items())


def test_output_does_not_depend_on_the_batch(server, grpc_client, graph, test_split, switches):
    """A request alone vs inside 32 concurrent ones. The audio encoder holds each execution while
    the switch is on (test-only model), so the burst queues and *is* batched on any host."""
    folder, samples = test_split
    target = next(s for s in samples if s.image and s.audio and s.text)
    others = [s for s in samples if s.audio and s.text and s is not target][:31]
    alone = served_outputs(grpc_client, grpc, graph, folder, [target])[0]
    before = {m.name: _stats(server, m.name) for m in graph.encoders}
    with switches.holding_encoder():
        batched = served_outputs(grpc_client, grpc, graph, folder, [target] + others, concurrency=32)[0]
    assert _batched(server, graph, before), "requests were never batched together; the test proves nothing"
    for name, value in alone.items():
        assert np.max(np.abs(value.astype(np.float64) - batched[name])) <= 1e-5, name


def test_encoder_output_does_not_depend_on_ragged_batch_padding(server, grpc_client, graph, test_split, offline,
                                                                switches):
    """Straight to the audio encoder: 32 concurrent requests of different lengths, batched for
    certain (the encoder holds each execution while the switch is on)."""
    from mmtriton.preprocess.tensors import sample_tensors

    folder, samples = test_split
    _, pre = offline
    clips = [s for s in samples if s.audio][:32]
    spec = graph.audio_encoder
    tensors = [sample_tensors(pre, None, (folder / s.audio).read_bytes(), None) for s in clips]
    assert len({t[spec.inputs[0].name].shape[1] for t in tensors}) > 5, "need mixed lengths"

    def infer(t):
        inputs = []
        for ts in spec.inputs:
            inp = grpc.InferInput(ts.name, list(t[ts.name].shape), ts.dtype.triton_wire)
            inp.set_data_from_numpy(t[ts.name])
            inputs.append(inp)
        return grpc_client.infer(spec.name, inputs).as_numpy(spec.outputs[0].name)

    alone = [infer(t) for t in tensors[:4]]
    before = _stats(server, spec.name)
    with switches.holding_encoder(), ThreadPoolExecutor(32) as pool:
        together = list(pool.map(infer, tensors))
    inferences, executions = (a - b for a, b in zip(_stats(server, spec.name), before))
    assert executions < inferences, "the audio encoder never batched 32 concurrent requests"
    for a, b in zip(alone, together):
        assert np.max(np.abs(a - b)) <= 1e-5


def test_grpc_and_http_agree(server, grpc_client, graph, test_split):
    folder, samples = test_split
    client = http.InferenceServerClient(server.cfg.http_url)
    try:
        for s in samples[:5]:
            from mmtriton.data.payloads import payload

            a = ensemble_outputs(grpc_client.infer(graph.ensemble.name, ensemble_inputs(grpc, graph, **payload(folder, s))), graph)
            b = ensemble_outputs(client.infer(graph.ensemble.name, ensemble_inputs(http, graph, **payload(folder, s))), graph)
            for name in a:
                assert np.array_equal(a[name], b[name])
    finally:
        client.close()


def test_plain_kserve_v2_json_request(server, graph):
    """No project code and no tritonclient: the JSON a curl user would send."""
    text = graph.ensemble.inputs[2].name
    probs, fused = (t.name for t in graph.fusion.outputs)
    label = graph.label.name
    body = {"inputs": [{"name": text, "shape": [1, 1], "datatype": "BYTES", "data": ["the digit 7 written on a card"]}]}
    req = urllib.request.Request(f"http://{server.cfg.http_url}/v2/models/{graph.ensemble.name}/infer",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        out = {o["name"]: o for o in json.load(r)["outputs"]}
    assert out[label]["datatype"] == "INT32" and out[label]["data"] == [7]
    assert abs(sum(out[probs]["data"]) - 1.0) < 1e-4
    assert out[fused]["shape"] == [1, graph.preset.fused_dim]


def test_unbatched_models_run_one_request_per_execution_under_concurrency(server, grpc_client, graph, test_split,
                                                                          repository):
    """Models without a batcher, and those whose dynamic-batching block only carries the queue
    policy (preferred size 1, no delay), must execute one request at a time, even with 36
    requests of mixed modality subsets in flight (a preprocessing stub cannot take mixed optional
    inputs in one batch on 2.51)."""
    from concurrent.futures import ThreadPoolExecutor

    from mmtriton.repository.structure import parse_config

    configs = {m.name: parse_config(repository / m.name / "config.pbtxt") for m in graph.models}
    unbatched = [n for n, c in configs.items()
                 if not c.HasField("dynamic_batching") or list(c.dynamic_batching.preferred_batch_size) == [1]]
    assert set(m.name for m in graph.preprocessing_models) <= set(unbatched)
    folder, samples = test_split
    mixed = [s for s in samples if s.image or s.audio or s.text][:64]
    before = {name: _stats(server, name) for name in unbatched}

    def run(subset: tuple[str, ...]) -> None:  # the three subsets in flight at the same time
        chosen = [s for s in mixed if all(getattr(s, m) for m in subset)][:24]
        served_outputs(grpc_client, grpc, graph, folder, chosen, subset=subset, concurrency=12)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(run, [("image",), ("audio", "text"), ("image", "audio", "text")]))
    for name in unbatched:
        inferences, executions = (a - b for a, b in zip(_stats(server, name), before[name]))
        assert inferences > 0 and inferences == executions, f"{name}: {inferences} requests in {executions} executions"
