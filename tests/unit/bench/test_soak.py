"""Soak verdicts from samples: growth is measured after warm-up and smoothed; failures and pending
come from Triton's counters; the report has every table and plot."""

from __future__ import annotations

import math

from mmtriton_bench.soak import RSS_LIMIT_MB, Sample, SoakConfig, SoakResult
from mmtriton_bench.soak_report import write_report

MB = 2**20


def _result(growth_per_min_mb: float, failures_at_end: float = 0, pending: float = 3) -> SoakResult:
    cfg = SoakConfig(seconds=600, warmup_s=60, concurrency=16, interval_s=5)
    res = SoakResult(cfg, seconds=600)
    for i in range(0, 121):
        t = i * 5.0
        warm = 300 * MB if t < 60 else 400 * MB  # a big jump during warm-up must not count
        stub = warm + growth_per_min_mb * MB * max(0.0, t - 60) / 60
        res.samples.append(Sample(t, {"tritonserver": 100 * MB, "text_encoder_0_0": int(stub)}, 8 * MB,
                                  failures_at_end if i == 120 else 0, 10.0 * i, 3 * pending, 1000.0 * i, pending))
    res.windows = [{"t": 0, "throughput": 90.0, "p50_ms": 100, "p99_ms": 300}]
    return res


def test_flat_memory_after_warm_up_passes_despite_warm_up_growth():
    res = _result(0.0, pending=12)  # 36 summed over sibling models, 12 in the largest: within 16
    assert res.growth_mb() == 0.0 and res.growth_mb("text_encoder_0_0") == 0.0
    assert all(res.verdict().values())
    assert res.served_requests == 1200 and res.failed_requests == 0


def test_steady_leak_fails_the_rss_check():
    res = _result(10.0)  # 10 MiB/min for 9 min after warm-up, ~80 MiB between the smoothed ends
    assert res.growth_mb() > RSS_LIMIT_MB
    assert res.verdict() == {"zero failures": True, f"RSS growth after warm-up <= {RSS_LIMIT_MB:g} MB": False,
                             "pending bounded by the concurrency (per model)": True}


def test_failures_and_unbounded_pending_fail():
    v = _result(0.0, failures_at_end=2, pending=40).verdict()
    assert not v["zero failures"] and not v["pending bounded by the concurrency (per model)"]


def test_too_few_samples_cannot_pass():
    res = SoakResult(SoakConfig(), samples=[])
    assert math.isnan(res.growth_mb())
    assert not res.verdict()[f"RSS growth after warm-up <= {RSS_LIMIT_MB:g} MB"]


def test_report_has_verdict_process_table_csv_and_plot(tmp_path):
    path = write_report(_result(0.0), tmp_path, "pytest")
    text = path.read_text()
    assert "| zero failures | pass |" in text and "text_encoder_0_0" in text and "whole tree" in text
    assert (tmp_path / "soak.csv").read_text().count("\n") == 122
    assert (tmp_path / "soak.png").stat().st_size > 10_000
