"""Paired rounds for the goal ratios: both sides of every ratio measured back to back, several times.

This machine's speed drifts by 20 % or more over minutes (a shared host): two full runs gave the
in-process floor 128/s and 159/s. A ratio whose terms were measured twenty minutes apart would
mostly measure that drift, so each round measures, in a row: the floor at batch 1 and the
ensemble at c=1 (added latency), the floor in one process per core and the ensemble at its best
concurrency (throughput ratio), and Triton and the FastAPI baseline at c=8 through the same load
generator. The goals use the median of the per-round ratios; every round is in the report.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mmtriton_bench.floor import Pipeline, measure_processes, run_for
from mmtriton_bench.loadgen import sweep_fastapi, sweep_triton_sdk
from mmtriton_bench.perf import PerfSettings, run_point
from mmtriton.spec.graph import ModelGraph


@dataclass(frozen=True)
class Round:
    index: int
    floor_b1_p50_ms: float
    ensemble_c1_p50_ms: float
    floor_multi: float
    ensemble_best: float
    ensemble_best_c: int
    triton_c8: float
    triton_c8_p99_ms: float
    fastapi_c8: float
    fastapi_c8_p99_ms: float

    @property
    def added_latency_ms(self) -> float:
        return self.ensemble_c1_p50_ms - self.floor_b1_p50_ms

    @property
    def floor_ratio(self) -> float:
        return self.ensemble_best / self.floor_multi

    @property
    def fastapi_ratio(self) -> float:
        return self.triton_c8 / self.fastapi_c8 if self.fastapi_c8 else float("nan")


@dataclass(frozen=True)
class PairedSetup:
    """Everything a round needs: the running servers, the workload and the floor's settings."""

    graph: ModelGraph
    onnx_dir: Path
    items: Sequence[Any]
    pipe: Pipeline
    grpc_url: str
    fastapi_url: str
    ensemble_data: Path
    best_concurrency: int
    best_batch: int
    work: Path
    perf: PerfSettings
    seconds: float = 4.0
    perf_protocol: str = "grpc"  # "http" against a server that restricts statistics (admin key header)
    perf_url: str = ""           # defaults to grpc_url


def _floor_b1_p50(s: PairedSetup) -> float:
    _, lat = run_for(s.pipe, s.items, 1, s.seconds)
    return float(np.percentile(lat, 50))


def _ensemble(s: PairedSetup, concurrency: int) -> Any:
    return run_point(s.graph.ensemble.name, s.perf_url or s.grpc_url, s.perf_protocol, s.ensemble_data, concurrency,
                     s.work / "paired", s.perf)


def _c8(sweep: Callable, url: str, s: PairedSetup) -> Any:
    return asyncio.run(sweep(url, s.items, (8,), 1.0, s.seconds))[0]


def one_round(index: int, s: PairedSetup) -> Round:
    floor_b1 = _floor_b1_p50(s)
    c1 = _ensemble(s, 1)
    multi = measure_processes(s.graph, s.onnx_dir, s.items, s.best_batch, s.seconds)
    best = _ensemble(s, s.best_concurrency)
    tri, fa = _c8(sweep_triton_sdk, s.grpc_url, s), _c8(sweep_fastapi, s.fastapi_url, s)
    return Round(index, round(floor_b1, 3), c1.p50_ms, multi.throughput, best.throughput, s.best_concurrency,
                 tri.throughput, tri.p99_ms, fa.throughput, fa.p99_ms)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))
