"""A small Model-Analyzer-style sweep: serving policies for the preprocessing and encoder models,
each measured on the ensemble with perf_analyzer on this machine; the winner goes into the spec.

Coordinate descent over three stages (preprocessing instances, encoder batching, encoder
instances): every candidate changes only its stage's models, starting from the best so far. A
candidate replaces the incumbent only if it beats its throughput by more than ``margin`` (noise on
a shared 2-core machine is a few per cent) without a worse p99 by more than the same margin.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from mmtriton_bench.perf import PerfSettings, run_point
from mmtriton_bench.servers import serving, write_variant
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import BatchingSpec

log = logging.getLogger(__name__)
Policy = dict[str, BatchingSpec]
Candidate = tuple[str, Callable[[ModelGraph, Policy], Policy]]


@dataclass(frozen=True)
class Trial:
    stage: str
    candidate: str
    throughput: float
    p50_ms: float
    p99_ms: float
    chosen: bool = False


def _set(policy: Policy, names: list[str], **changes) -> Policy:
    out = dict(policy)
    for n in names:
        out[n] = dataclasses.replace(out[n], **changes)
    return out


def stages(graph: ModelGraph) -> list[tuple[str, list[Candidate]]]:
    """The candidate policies per stage (each a function of the incumbent policy)."""
    img, aud = graph.image_preprocess.name, graph.audio_preprocess.name
    enc = [m.name for m in graph.encoders] + [graph.fusion.name]
    pre_inst = [(f"image_preprocess x{i}, audio_preprocess x{a}",
                 lambda g, p, i=i, a=a: _set(_set(p, [img], instances=i), [aud], instances=a))
                for i, a in ((1, 1), (2, 1), (1, 2), (2, 2))]
    batching = [(f"encoders+fusion preferred {list(sizes)}, delay {delay} us",
                 lambda g, p, s=sizes, d=delay: _set(p, enc, dynamic=True, preferred_batch_sizes=s, max_queue_delay_us=d))
                for sizes, delay in (((2, 4), 500), ((4, 8), 1000), ((8, 16), 2000))]
    batching.append(("encoders+fusion without dynamic batching", lambda g, p: _set(p, enc, dynamic=False)))
    enc_inst = [(f"encoders x{n}", lambda g, p, n=n: _set(p, enc[:3], instances=n)) for n in (1, 2)]
    return [("preprocess instances", pre_inst), ("encoder batching", batching), ("encoder instances", enc_inst)]


def measure(graph: ModelGraph, policy: Policy, onnx_dir: Path, data: Path, work: Path, concurrency: int,
            settings: PerfSettings) -> tuple[float, float, float]:
    repo = write_variant(graph.with_batching(policy), work / "repo-tuning", onnx_dir)
    with serving(repo, work) as (grpc_url, _):
        run_point(graph.ensemble.name, grpc_url, "grpc", data, 1, work / "warmup", PerfSettings(request_count=30))
        p = run_point(graph.ensemble.name, grpc_url, "grpc", data, concurrency, work / "tuning", settings)
    return p.throughput, p.p50_ms, p.p99_ms


def tune(graph: ModelGraph, onnx_dir: Path, data: Path, work: Path, concurrency: int, settings: PerfSettings,
         margin: float = 0.03, on_trial: Optional[Callable[[Trial], None]] = None) -> tuple[Policy, list[Trial]]:
    """Returns the winning policy (all models) and every trial, for the report."""
    best: Policy = {m.name: m.batching for m in graph.models}
    best_score: Optional[tuple[float, float, float]] = None
    trials: list[Trial] = []
    for stage, candidates in stages(graph):
        for name, make in candidates:
            policy = make(graph, best)
            if policy == best and best_score is not None:
                score, is_new = best_score, False
            else:
                score, is_new = measure(graph, policy, onnx_dir, data, work, concurrency, settings), True
            better = best_score is None or (score[0] > best_score[0] * (1 + margin)
                                            and score[2] <= best_score[2] * (1 + margin))
            if better:
                best, best_score = policy, score
            trials.append(Trial(stage, name + ("" if is_new else " (incumbent)"), *score, chosen=better))
            if on_trial:
                on_trial(trials[-1])
            log.info("tuning %s / %s: %.1f/s p99 %.1f ms%s", stage, name, score[0], score[2], " *" if better else "")
    return best, trials
