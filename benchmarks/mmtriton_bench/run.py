"""One benchmark run: workload -> preprocessing per core -> in-process floor -> (tuning) ->
Triton sweeps -> FastAPI eager baseline -> Triton without dynamic batching -> report.

Everything runs on the same machine, one system at a time, on the same items.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from mmtriton_bench.floor import FloorResult, Pipeline, measure_batches, measure_processes
from mmtriton_bench.identity import Identity, identify
from mmtriton_bench.inputdata import TensorSource, write_input_data
from mmtriton_bench.loadgen import LoadResult, sweep_fastapi, sweep_triton_sdk
from mmtriton_bench.paired import PairedSetup, Round, one_round
from mmtriton_bench.perf import PerfPoint, PerfSettings, run_point
from mmtriton_bench.plan import BenchPlan
from mmtriton_bench.servers import check_reachable, flip_batching, serving, write_variant
from mmtriton_bench.tracker import Tracker
from mmtriton_bench.tuning import Trial, tune
from mmtriton.data.payloads import describe, load_items
from mmtriton.errors import BenchError
from mmtriton.paths import Artifacts
from mmtriton.spec.graph import ModelGraph

log = logging.getLogger(__name__)
WARMUP = PerfSettings(request_count=30)
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")}


@dataclass
class Results:
    plan: BenchPlan
    workload: dict
    preproc: dict = field(default_factory=dict)
    floor: list[FloorResult] = field(default_factory=list)
    floor_multi: Optional[FloorResult] = None
    perf: list[PerfPoint] = field(default_factory=list)
    perf_flip: list[PerfPoint] = field(default_factory=list)  # same policy, dynamic batching flipped
    flip_batches: Optional[bool] = None  # True: the flipped variant is the batching one
    loadgen: list[LoadResult] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    policy: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    identity: Optional[Identity] = None  # read from the measured server and this machine


def run_preproc(plan: BenchPlan, art: Artifacts) -> dict:
    """Per-core preprocessing in a child process with every thread pool at one thread."""
    cmd = [sys.executable, "-m", "mmtriton_bench.preproc", "--preset", plan.preset,
           "--manifest", str(art.manifest("test")), "--seconds", str(plan.preproc_seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ONE_THREAD}, timeout=600)
    if proc.returncode != 0:
        raise BenchError(f"preprocessing benchmark failed:\n{proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_floor(plan: BenchPlan, graph: ModelGraph, onnx_dir: Path, items: list, res: Results, tr: Tracker) -> Pipeline:
    tr.stage("in-process floor", 2)
    pipe = Pipeline(graph, onnx_dir, threads=1)
    res.floor = measure_batches(pipe, items, plan.floor_seconds)
    tr.advance()
    best = max(res.floor, key=lambda r: r.throughput)
    res.floor_multi = measure_processes(graph, onnx_dir, items, best.batch, plan.floor_seconds * 2)
    tr.advance()
    return pipe


def models_to_measure(plan: BenchPlan, graph: ModelGraph) -> list[tuple[str, str]]:
    """(model, shared memory) pairs: tensor-input models also go through system shared memory."""
    if not plan.every_model:
        return [(graph.ensemble.name, "none")]
    raw = [graph.ensemble.name] + [m.name for m in (graph.image_preprocess, graph.audio_preprocess, graph.text_preprocess)]
    tensor = [graph.tensor_ensemble.name] + [m.name for m in graph.encoders + (graph.fusion, graph.postprocess)]
    return [(m, "none") for m in raw] + [(m, shm) for m in tensor for shm in ("none", "system")]


def perf_sweep(plan: BenchPlan, graph: ModelGraph, grpc_url: str, http_url: str, data: dict[str, Path],
               work: Path, tr: Tracker, pairs: list[tuple[str, str]], protocols: tuple[str, ...]) -> list[PerfPoint]:
    points = []
    jobs = [(m, shm, proto) for m, shm in pairs for proto in protocols if not (shm == "system" and proto == "http")]
    ensembles = {graph.ensemble.name, graph.tensor_ensemble.name}
    levels = {m: plan.levels if m in ensembles else plan.model_levels for m, _ in pairs}
    tr.stage(f"perf_analyzer ({len(jobs)} series)", sum(len(levels[m]) for m, _, _ in jobs))
    for model, shm, proto in jobs:
        url = grpc_url if proto == "grpc" else http_url
        run_point(model, url, proto, data[model], 1, work / "warmup", WARMUP, shm)
        for c in levels[model]:
            tr.describe(f"perf_analyzer {model} {proto} shm={shm} c={c}")
            try:
                points.append(run_point(model, url, proto, data[model], c, work / "perf", plan.perf, shm))
            except BenchError as e:
                log.warning("%s", e)
            tr.advance()
    return points


def triton_main(plan: BenchPlan, art: Artifacts, graph: ModelGraph, data: dict, items: list, pipe: Pipeline,
                res: Results, tr: Tracker) -> None:
    """perf_analyzer sweeps, the SDK load generator, the FastAPI baseline and the paired goal
    rounds, on the tuned (or given) server; the FastAPI service idles while Triton is measured."""
    onnx_dir, work = art.onnx(plan.preset), art.root / "bench" / plan.name

    def measure(grpc_url: str, http_url: str) -> None:
        res.identity = identify(http_url, [m.name for m in graph.exported])
        res.perf = perf_sweep(plan, graph, grpc_url, http_url, data, work, tr, models_to_measure(plan, graph),
                              plan.protocols)
        tr.stage("SDK load generator (gRPC)", 1)
        res.loadgen += asyncio.run(sweep_triton_sdk(grpc_url, items, plan.loadgen_levels, plan.loadgen_warmup_s,
                                                    plan.loadgen_window_s))
        tr.advance()
        with fastapi_baseline(plan, art, items, res, tr) as fastapi_url:
            protocol = plan.protocols[0]
            paired_rounds(plan, PairedSetup(graph, onnx_dir, items, pipe, grpc_url, fastapi_url, data[graph.ensemble.name],
                                            best_concurrency(res, graph), res.floor_multi.batch, work, plan.perf,
                                            plan.loadgen_window_s, protocol,
                                            grpc_url if protocol == "grpc" else http_url),
                          res, tr)

    if plan.external:
        check_reachable(plan.http_url, graph.ensemble.name)
        measure(plan.url, plan.http_url)
        return
    tr.stage("starting Triton (tuned policy)", 1)
    with serving(write_variant(graph, work / "repo-main", onnx_dir), work) as (grpc_url, http_url):
        tr.advance()
        measure(grpc_url, http_url)


def best_concurrency(res: Results, graph: ModelGraph) -> int:
    pts = [p for p in res.perf if p.model == graph.ensemble.name and p.protocol == res.plan.protocols[0]
           and p.shared_memory == "none"]
    return max(pts, key=lambda p: p.throughput).concurrency if pts else 8


@contextlib.contextmanager
def fastapi_baseline(plan: BenchPlan, art: Artifacts, items: list, res: Results, tr: Tracker) -> Iterator[str]:
    """Sweep the FastAPI + eager service, then keep it up (idle) for the paired rounds."""
    from mmtriton_bench.eager import EagerServer
    from mmtriton.serving.server import free_port

    tr.stage("FastAPI + PyTorch eager baseline", 1)
    with EagerServer(art.checkpoint(plan.preset), free_port()) as url:
        res.loadgen += asyncio.run(sweep_fastapi(url, items, plan.loadgen_levels, plan.loadgen_warmup_s,
                                                 plan.loadgen_window_s))
        tr.advance()
        yield url


def paired_rounds(plan: BenchPlan, setup: PairedSetup, res: Results, tr: Tracker) -> None:
    tr.stage(f"paired goal rounds ({plan.rounds})", plan.rounds)
    for i in range(plan.rounds):
        res.rounds.append(one_round(i + 1, setup))
        r = res.rounds[-1]
        tr.advance(f"round {i + 1}: floor ratio {r.floor_ratio:.2f}, vs FastAPI {r.fastapi_ratio:.2f}, "
                   f"added latency {r.added_latency_ms:.1f} ms")


def triton_batching_flipped(plan: BenchPlan, graph: ModelGraph, onnx_dir: Path, data: dict, work: Path,
                            res: Results, tr: Tracker) -> None:
    """What dynamic batching buys (or costs): the ensemble with the batching choice reversed."""
    policy, res.flip_batches = flip_batching(graph)
    repo = write_variant(graph.with_batching(policy), work / "repo-flipped", onnx_dir)
    with serving(repo, work) as (grpc_url, http_url):
        res.perf_flip = perf_sweep(plan, graph, grpc_url, http_url, data, work, tr,
                                      [(graph.ensemble.name, "none")], ("grpc",))


def run_tuning(plan: BenchPlan, graph: ModelGraph, onnx_dir: Path, data: dict, work: Path, res: Results,
               tr: Tracker) -> ModelGraph:
    """Sweep; the rest of the run measures the winners. The winners are a *proposal*: the report
    writes them to ``policy.json`` beside itself, and only `mmtriton apply-policy` changes the spec."""
    tr.stage("tuning sweep", 12)
    policy, res.trials = tune(graph, onnx_dir, data[graph.ensemble.name], work, plan.tune_concurrency, plan.perf,
                              on_trial=lambda t: tr.advance(f"tuning: {t.candidate} -> {t.throughput:.1f}/s"))
    res.policy = policy
    return graph.with_batching(policy)


def run_bench(plan: BenchPlan, art: Artifacts, tr: Tracker) -> Results:
    from mmtriton.preprocess import Preprocessor
    from mmtriton.workflows import trained_graph

    graph, onnx_dir = trained_graph(art, plan.preset), art.onnx(plan.preset)
    work = art.root / "bench" / plan.name
    tr.stage("workload and perf_analyzer input data", 1)
    items = load_items(art.manifest("test"), plan.items)
    source = TensorSource(graph, Preprocessor(graph), onnx_dir)
    data = write_input_data(graph, items, [source.tensors(it) for it in items], work / "inputs")
    res = Results(plan, describe(items), policy={m.name: m.batching for m in graph.models})
    tr.advance()
    if plan.triton_only:
        return run_triton_only(plan, graph, data, items, work, res, tr)
    tr.stage("preprocessing per core", 1)
    res.preproc = run_preproc(plan, art)
    tr.advance()
    pipe = run_floor(plan, graph, onnx_dir, items, res, tr)
    if plan.tune and not plan.external:
        graph = run_tuning(plan, graph, onnx_dir, data, work, res, tr)
    triton_main(plan, art, graph, data, items, pipe, res, tr)
    if plan.external:
        res.notes.append("external server: the batching variant and tuning need a server this run starts; skipped")
    else:
        triton_batching_flipped(plan, graph, onnx_dir, data, work, res, tr)
    return res


def run_triton_only(plan: BenchPlan, graph: ModelGraph, data: dict, items: list, work: Path, res: Results,
                    tr: Tracker) -> Results:
    """The server alone: perf_analyzer sweeps and the SDK load generator against ``plan.url``.

    Used by the compose ``bench`` service: the baselines (in-process floor, FastAPI + PyTorch)
    would measure the SDK container's CPU, not the deployment, so they are left out and said so.
    """
    if not plan.external:
        raise BenchError("--triton-only measures a running server: pass --url HOST:PORT")
    check_reachable(plan.http_url, graph.ensemble.name)
    res.identity = identify(plan.http_url, [m.name for m in graph.exported])
    res.perf = perf_sweep(plan, graph, plan.url, plan.http_url, data, work, tr, models_to_measure(plan, graph),
                          plan.protocols)
    tr.stage("SDK load generator (gRPC)", 1)
    res.loadgen += asyncio.run(sweep_triton_sdk(plan.url, items, plan.loadgen_levels, plan.loadgen_warmup_s,
                                                plan.loadgen_window_s))
    tr.advance()
    res.notes.append("Triton only (--triton-only): no preprocessing-per-core, in-process floor, FastAPI baseline, "
                     "goal rounds or batching variant in this run; goals read n/a")
    return res
