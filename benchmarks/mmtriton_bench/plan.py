"""What a benchmark run measures: the quick plan (a few minutes) and the full one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from mmtriton_bench.perf import PerfSettings


@dataclass(frozen=True)
class BenchPlan:
    name: str
    full: bool
    preset: str = "demo"
    items: int = 24
    levels: tuple[int, ...] = (1, 4, 8)
    protocols: tuple[str, ...] = ("grpc", "http")
    every_model: bool = False  # False: the ensembles only
    model_levels: tuple[int, ...] = (1, 8)  # composing models: fewer levels (the ensembles get `levels`)
    loadgen_levels: tuple[int, ...] = (1, 8)
    loadgen_warmup_s: float = 2.0
    loadgen_window_s: float = 6.0
    floor_seconds: float = 3.0
    preproc_seconds: float = 1.5
    rounds: int = 2  # paired goal rounds (benchmarks/mmtriton_bench/paired.py)
    tune: bool = False
    tune_concurrency: int = 8
    perf: PerfSettings = PerfSettings(window_ms=2000, stability_pct=30, max_trials=6)
    triton_only: bool = False  # only perf_analyzer + SDK sweeps of the server (no baselines)
    url: Optional[str] = None  # external server (gRPC host:port); None: start the embedded one
    http_url: Optional[str] = None
    out_dir: Path = Path("artifacts/reports")  # `mmtriton bench` passes <artifacts>/reports or --out

    @property
    def external(self) -> bool:
        return self.url is not None


QUICK = BenchPlan(name="quick", full=False)
FULL = BenchPlan(name="full", full=True, items=96, levels=(1, 2, 4, 8, 16, 32), every_model=True,
                 loadgen_levels=(1, 2, 4, 8, 16, 32), loadgen_window_s=10.0, floor_seconds=6.0,
                 preproc_seconds=3.0, rounds=3, tune=True, perf=PerfSettings(window_ms=2500, stability_pct=25, max_trials=8))


def make_plan(full: bool, name: Optional[str] = None, **overrides) -> BenchPlan:
    base = FULL if full else QUICK
    return replace(base, name=name or base.name, **{k: v for k, v in overrides.items() if v is not None})
