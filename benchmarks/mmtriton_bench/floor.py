"""The in-process floor: the same preprocessing and the same ONNX models called directly.

No server, no serialisation, no queueing: what a perfect server could at best do on these
cores. Measured at batch 1 (one request at a time), at the best batch size, and in one worker
process per core, each with one ONNX Runtime intra-op thread.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from mmtriton.data.payloads import Item
from mmtriton.preprocess.tensors import sample_tensors
from mmtriton.spec.graph import ModelGraph

BATCH_SIZES = (1, 4, 8, 16, 32)


class Pipeline:
    """Preprocess -> three encoders -> fusion, in this process, on a list of items."""

    def __init__(self, graph: ModelGraph, onnx_dir: Path, threads: int = 1) -> None:
        from mmtriton.preprocess import Preprocessor
        from mmtriton.runtime import ort_runners

        self.graph, self.pre = graph, Preprocessor(graph)
        self.runners = ort_runners(graph, onnx_dir, threads)

    def __call__(self, items: Sequence[Item]) -> np.ndarray:
        from mmtriton.runtime import probabilities, stack

        return probabilities(self.graph, self.runners, [stack([sample_tensors(self.pre, **it.kwargs) for it in items])])


@dataclass(frozen=True)
class FloorResult:
    mode: str
    batch: int
    processes: int
    throughput: float
    p50_ms: float
    p99_ms: float


def _batches(items: Sequence[Item], batch: int):
    i = 0
    while True:
        yield [items[(i + k) % len(items)] for k in range(batch)]
        i += batch


def run_for(pipe: Pipeline, items: Sequence[Item], batch: int, seconds: float) -> tuple[int, list[float]]:
    """Items processed and per-call latencies (ms) in ``seconds`` of back-to-back calls."""
    done, lat, end = 0, [], time.perf_counter() + seconds
    for chunk in _batches(items, batch):
        t0 = time.perf_counter()
        pipe(chunk)
        lat.append((time.perf_counter() - t0) * 1000)
        done += batch
        if t0 >= end:
            return done, lat


def measure_batches(pipe: Pipeline, items: Sequence[Item], seconds: float,
                    sizes: Sequence[int] = BATCH_SIZES) -> list[FloorResult]:
    pipe(items[: max(sizes)])  # warm-up: allocations, first-call paths
    out = []
    for b in sizes:
        t0 = time.perf_counter()
        n, lat = run_for(pipe, items, b, seconds)
        out.append(FloorResult("in-process", b, 1, round(n / (time.perf_counter() - t0), 2),
                               round(float(np.percentile(lat, 50)), 3), round(float(np.percentile(lat, 99)), 3)))
    return out


def _worker(graph_name: str, onnx_dir: str, items: list, batch: int, seconds: float, barrier, queue) -> None:
    from mmtriton.spec import get_graph

    pipe = Pipeline(get_graph(graph_name), Path(onnx_dir), threads=1)
    pipe(items[:batch])
    barrier.wait()
    t0 = time.perf_counter()
    n, _ = run_for(pipe, items, batch, seconds)
    queue.put((n, time.perf_counter() - t0))


def measure_processes(graph: ModelGraph, onnx_dir: Path, items: Sequence[Item], batch: int, seconds: float,
                      processes: int = 0) -> FloorResult:
    """One worker per core (``os.cpu_count()``), started together; throughput = sum over workers."""
    n_proc = processes or os.cpu_count() or 1
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(n_proc), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(graph.preset.name, str(onnx_dir), list(items), batch, seconds,
                                               barrier, queue)) for _ in range(n_proc)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds * 4 + 120) for _ in procs]
    for p in procs:
        p.join()
    wall = max(r[1] for r in results)
    return FloorResult("in-process", batch, n_proc, round(sum(r[0] for r in results) / wall, 2), 0.0, 0.0)
