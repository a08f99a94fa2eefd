"""The benchmark harness against the real session server: its perf_analyzer input data is accepted
by every kind of model, and a tiny sweep runs end to end into a report (no timing is asserted).

The session server restricts statistics and shared memory behind the admin key; perf_analyzer
can send it only as an HTTP header, so these runs use HTTP (the harness's own private servers
are unrestricted and also measure gRPC)."""

from __future__ import annotations

import dataclasses
import json
import urllib.request

import pytest

from mmtriton_bench.inputdata import TensorSource, decode_bytes_entry, write_input_data
from mmtriton_bench.perf import PerfSettings, run_point
from mmtriton.data.payloads import load_items

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# perf_analyzer in count mode (a fixed number of requests, no stability windows) and load
# windows of seconds: the sweeps must produce a report on a loaded host too; no timing is judged.
COUNTED = PerfSettings(request_count=24)


@pytest.fixture(scope="module")
def bench_inputs(artifacts, graph, preprocessor, tmp_path_factory):
    items = load_items(artifacts.manifest("test"), 8)
    source = TensorSource(graph, preprocessor, artifacts.onnx("demo"))
    paths = write_input_data(graph, items, [source.tensors(it) for it in items], tmp_path_factory.mktemp("inputs"))
    return items, paths


@pytest.fixture(autouse=True)
def admin_key_for_perf_analyzer(server, monkeypatch):
    monkeypatch.setenv("TRITON_ADMIN_KEY", server.cfg.admin_key)


def _stats(server, model: str) -> dict:
    req = urllib.request.Request(f"http://{server.cfg.http_url}/v2/models/{model}/stats", headers=server.cfg.admin_headers)
    with urllib.request.urlopen(req) as r:
        s = json.load(r)["model_stats"][0]["inference_stats"]
    return {"success": int(s["success"]["count"]), "fail": int(s["fail"]["count"])}


def test_raw_entries_carry_exactly_the_workload_files(bench_inputs, graph):
    items, paths = bench_inputs
    entries = json.loads(paths[graph.ensemble.name].read_text())["data"]
    names = dict(zip(("image", "audio", "text"), (t.name for t in graph.ensemble.inputs)))
    for item, entry in zip(items, entries):
        for m, name in names.items():
            value = getattr(item, m)
            expected = value.encode() if isinstance(value, str) else value
            assert (decode_bytes_entry(entry[name]) if name in entry else None) == expected


@pytest.mark.parametrize("role,shm", [("ensemble", "none"), ("audio_preprocess", "none"),
                                      ("image_encoder", "system"), ("text_encoder", "system"),
                                      ("fusion", "none"), ("tensor_ensemble", "system")])
def test_perf_analyzer_input_data_is_accepted_by_the_server(server, bench_inputs, graph, tmp_path, role, shm):
    _, paths = bench_inputs
    model = getattr(graph, role).name
    before = _stats(server, model)
    point = run_point(model, server.cfg.http_url, "http", paths[model], 1, tmp_path,
                      PerfSettings(request_count=16), shm)
    after = _stats(server, model)
    assert after["fail"] == before["fail"], "perf_analyzer's requests must all succeed"
    assert after["success"] - before["success"] >= 16, "every entry of the input data was sent (twice)"
    assert point.throughput > 0 and point.p50_ms > 0
    if role == "ensemble":
        assert set(point.composing) == {s.model for s in graph.ensemble.steps}


def test_tiny_sweep_runs_end_to_end_into_a_report(server, artifacts, tmp_path):
    from mmtriton_bench.goals import evaluate
    from mmtriton_bench.plan import make_plan
    from mmtriton_bench.report import write_report
    from mmtriton_bench.run import run_bench
    from mmtriton_bench.tracker import Tracker

    plan = make_plan(False, "tiny", url=server.cfg.grpc_url, http_url=server.cfg.http_url, out_dir=tmp_path,
                     items=6, levels=(1, 2), protocols=("http",))
    plan = dataclasses.replace(plan, loadgen_levels=(1, 8), loadgen_warmup_s=1.0, loadgen_window_s=3.0, rounds=1,
                               floor_seconds=1.0, preproc_seconds=0.5, perf=COUNTED)
    tracker = Tracker()
    res = run_bench(plan, artifacts, tracker)
    path = write_report(res, "pytest tiny sweep")
    assert {(p.protocol, p.concurrency) for p in res.perf} == {("http", c) for c in (1, 2)}
    assert {r.system for r in res.loadgen} == {"triton-sdk-grpc", "fastapi-eager"}
    assert all(r.errors == 0 and r.requests > 0 for r in res.loadgen)
    assert res.floor_multi is not None and res.floor_multi.processes >= 1
    assert len(res.rounds) == 1 and res.rounds[0].fastapi_c8 > 0 and res.rounds[0].floor_multi > 0
    assert all(g.met is not None for g in evaluate(res)), "every goal was measured"
    assert "external server" in " ".join(res.notes)
    assert path.is_file() and (tmp_path / "tiny" / "perf.csv").is_file()
    assert "perf_analyzer" in " ".join(tracker.stages)


def test_triton_only_sweep_over_http_with_the_admin_header(server, artifacts, tmp_path):
    """What the compose `bench` service runs: the server alone, HTTP with the restricted-API key
    header (perf_analyzer cannot send gRPC metadata); no baseline is measured, every goal reads n/a."""
    from mmtriton_bench.goals import evaluate
    from mmtriton_bench.plan import make_plan
    from mmtriton_bench.report import write_report
    from mmtriton_bench.run import run_bench
    from mmtriton_bench.tracker import Tracker

    plan = make_plan(False, "gpu-like", url=server.cfg.grpc_url, http_url=server.cfg.http_url, out_dir=tmp_path,
                     items=6, levels=(1, 2), protocols=("http",), triton_only=True)
    plan = dataclasses.replace(plan, loadgen_levels=(2,), loadgen_warmup_s=1.0, loadgen_window_s=3.0, perf=COUNTED)
    res = run_bench(plan, artifacts, Tracker())
    path = write_report(res, "pytest triton-only sweep")
    assert {(p.protocol, p.concurrency) for p in res.perf} == {("http", 1), ("http", 2)}
    assert all(p.throughput > 0 for p in res.perf)
    assert [r.system for r in res.loadgen] == ["triton-sdk-grpc"] and res.loadgen[0].errors == 0
    assert res.floor == [] and res.rounds == [] and not res.preproc
    assert all(g.met is None for g in evaluate(res))
    assert path.is_file() and "--triton-only" in path.read_text()
