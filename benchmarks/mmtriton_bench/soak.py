"""Soak: the ensemble at its saturation point for minutes, watched from outside.

perf_analyzer drives the ensemble (closed loop at ``concurrency``, mixed held-out inputs: all
modality subsets, large JPEGs, long WAVs) in back-to-back invocations until the time is up,
while a sampler records every ``interval_s``: RSS of the server and of each Python-backend
stub, /dev/shm use, and Triton's metrics (request failures, successes, pending count, queue
time). Pass: zero failed requests, RSS growth after warm-up <= 50 MB (whole process tree),
pending count bounded by the offered concurrency.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from mmtriton_bench import metrics as prom
from mmtriton_bench.perf import PerfSettings, run_point
from mmtriton.errors import BenchError
from mmtriton.serving import procinfo

log = logging.getLogger(__name__)
RSS_LIMIT_MB = 50.0


@dataclass(frozen=True)
class SoakConfig:
    seconds: float = 600.0
    warmup_s: float = 60.0
    concurrency: int = 16
    interval_s: float = 5.0
    window_s: float = 20.0  # perf_analyzer measurement window; 3 per invocation
    items: int = 48


@dataclass
class Sample:
    t: float
    rss: dict[str, int]
    shm_bytes: int
    failures: float
    successes: float
    pending: float  # summed over models (one request can be pending in 3 sibling steps at once)
    queue_us: float
    pending_max: float = 0.0  # the largest single model's pending count

    @property
    def rss_total(self) -> int:
        return sum(self.rss.values())


@dataclass
class SoakResult:
    cfg: SoakConfig
    samples: list[Sample] = field(default_factory=list)
    windows: list[dict] = field(default_factory=list)  # one per perf_analyzer invocation
    perf_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def _smoothed(self, samples: list[Sample], per: Optional[str] = None) -> float:
        values = [s.rss_total if per is None else s.rss.get(per, 0) for s in samples]
        return float(statistics.median(values)) if values else 0.0

    def growth_mb(self, per: Optional[str] = None) -> float:
        """Median RSS over the last minute minus the median over the minute after warm-up."""
        after = [s for s in self.samples if s.t >= self.cfg.warmup_s]
        if len(after) < 4:
            return float("nan")
        span = max(2, int(60 / self.cfg.interval_s))
        return (self._smoothed(after[-span:], per) - self._smoothed(after[:span], per)) / 2**20

    @property
    def failed_requests(self) -> float:
        return self.samples[-1].failures - self.samples[0].failures if self.samples else float("nan")

    @property
    def served_requests(self) -> float:
        return self.samples[-1].successes - self.samples[0].successes if self.samples else 0.0

    @property
    def max_pending(self) -> float:
        """Largest pending count of any one model: a closed loop of N clients cannot exceed N."""
        return max((s.pending_max for s in self.samples), default=0.0)

    def verdict(self) -> dict[str, bool]:
        return {"zero failures": self.failed_requests == 0 and not self.perf_errors,
                f"RSS growth after warm-up <= {RSS_LIMIT_MB:g} MB": self.growth_mb() <= RSS_LIMIT_MB,
                "pending bounded by the concurrency (per model)": self.max_pending <= self.cfg.concurrency}


class Sampler(threading.Thread):
    """Samples the process tree, /dev/shm and the metrics every ``interval_s`` until stopped."""

    def __init__(self, server_pid: int, metrics_url: str, ensemble: str, interval_s: float) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self.pid, self.metrics_url, self.ensemble, self.interval_s = server_pid, metrics_url, ensemble, interval_s
        self.samples: list[Sample] = []
        self.t0 = time.monotonic()
        self._stop_event = threading.Event()

    def sample(self) -> Sample:
        m = prom.scrape(self.metrics_url)
        pending = [v for _, v in m.get("nv_inference_pending_request_count", [])]
        return Sample(round(time.monotonic() - self.t0, 1), procinfo.tree_rss(self.pid),
                      sum(procinfo.shm_regions().values()), prom.total(m, "nv_inference_request_failure"),
                      prom.total(m, "nv_inference_request_success", self.ensemble), sum(pending),
                      prom.total(m, "nv_inference_queue_duration_us"), max(pending, default=0.0))

    def run(self) -> None:
        while True:
            try:
                self.samples.append(self.sample())
            except OSError as e:
                log.warning("soak sample failed: %s", e)
            if self._stop_event.wait(self.interval_s):
                return

    def stop(self) -> list[Sample]:
        self._stop_event.set()
        self.join(30)
        return self.samples


def drive(model: str, url: str, data: Path, cfg: SoakConfig, work: Path, res: SoakResult,
          on_window=None) -> None:
    """Back-to-back perf_analyzer invocations (3 windows each) until ``cfg.seconds`` are over."""
    settings = PerfSettings(window_ms=int(cfg.window_s * 1000), stability_pct=100, max_trials=3,
                            timeout_s=cfg.window_s * 6 + 60)
    end = time.monotonic() + cfg.seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            p = run_point(model, url, "grpc", data, cfg.concurrency, work, settings)
            res.windows.append({"t": round(t0 - (end - cfg.seconds), 1), "throughput": p.throughput,
                                "p50_ms": p.p50_ms, "p99_ms": p.p99_ms})
        except BenchError as e:
            res.perf_errors.append(str(e).splitlines()[-1][:300])
        if on_window:
            on_window(res)


def run_soak(graph, onnx_dir: Path, manifest: Path, work: Path, cfg: SoakConfig, on_window=None) -> SoakResult:
    """Start a private embedded server, soak it, stop it; returns every sample and window."""
    from mmtriton_bench.inputdata import TensorSource, write_input_data
    from mmtriton_bench.servers import write_variant
    from mmtriton.data.payloads import load_items
    from mmtriton.preprocess import Preprocessor
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig, free_port

    items = load_items(manifest, cfg.items)
    source = TensorSource(graph, Preprocessor(graph), onnx_dir)
    data = write_input_data(graph, items, [source.tensors(it) for it in items], work / "inputs")
    repo = write_variant(graph, work / "repo", onnx_dir)
    server_cfg = ServerConfig(repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                              work_dir=work, log_file=work / "server.log")
    res = SoakResult(cfg)
    with EmbeddedServer(server_cfg) as server:
        sampler = Sampler(server.process.pid, f"{server_cfg.host}:{server_cfg.metrics_port}", graph.ensemble.name,
                          cfg.interval_s)
        sampler.start()
        t0 = time.monotonic()
        drive(graph.ensemble.name, server_cfg.grpc_url, data[graph.ensemble.name], cfg, work / "perf", res, on_window)
        res.seconds = time.monotonic() - t0
        time.sleep(cfg.interval_s)  # one sample after the load
        res.samples = sampler.stop()
    return res


def with_seconds(cfg: SoakConfig, seconds: float) -> SoakConfig:
    return dataclasses.replace(cfg, seconds=seconds, warmup_s=min(cfg.warmup_s, seconds / 3))
