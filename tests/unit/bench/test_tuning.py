"""The tuning sweep's decision rule, with the measurement replaced by a known response surface
(the real measurement needs a server; the harness test runs that end to end)."""

from __future__ import annotations

from mmtriton_bench import tuning
from mmtriton_bench.perf import PerfSettings
from mmtriton.spec.tensors import BatchingSpec


def test_stages_change_only_their_models(graph):
    base = {m.name: m.batching for m in graph.models}
    for stage, candidates in tuning.stages(graph):
        for name, make in candidates:
            policy = make(graph, base)
            changed = {n for n in base if policy[n] != base[n]}
            allowed = {"preprocess instances": {graph.image_preprocess.name, graph.audio_preprocess.name},
                       "encoder batching": {m.name for m in graph.encoders} | {graph.fusion.name},
                       "encoder instances": {m.name for m in graph.encoders}}[stage]
            assert changed <= allowed, (stage, name)


def test_winner_needs_a_margin_and_no_worse_p99(graph, monkeypatch, tmp_path):
    start = BatchingSpec(dynamic=True, instances=1)  # a known starting point, not the tuned defaults
    graph = graph.with_batching({m.name: start for m in graph.encoders + (graph.fusion,)})
    image_enc = graph.image_encoder.name

    def fake_measure(g, policy, *args, **kw):
        # Two encoder instances: +10 % throughput; no dynamic batching: +2 % (inside the margin).
        thr = 100.0 * (1.10 if policy[image_enc].instances == 2 else 1.0)
        thr *= 1.02 if not policy[image_enc].dynamic else 1.0
        return thr, 10.0, 50.0

    monkeypatch.setattr(tuning, "measure", fake_measure)
    seen = []
    best, trials = tuning.tune(graph, tmp_path, tmp_path / "d.json", tmp_path, 8, PerfSettings(), on_trial=seen.append)
    assert best[image_enc].instances == 2
    assert best[image_enc].dynamic is True  # 2 % is noise under a 3 % margin
    assert len(trials) == sum(len(c) for _, c in tuning.stages(graph)) == len(seen)
    assert trials[-1].chosen and trials[-1].throughput > trials[0].throughput
