"""Reading perf_analyzer 2.51 output (CSV + the composing-model section it prints) and building its command."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmtriton_bench.perf import PerfSettings, parse_composing, parse_csv, perf_command, to_point
from mmtriton.errors import BenchError

# Verbatim from a perf_analyzer 2.51.0 run against the ensemble (`--verbose-csv --percentile 99`).
CSV = """Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,request/response,response wait
1,69.8794,22,0,2,633,24652,2236,9,13593,18866,21016,24556,31,14158
"""
STDOUT = """  Server:
    Inference count: 504
  Composing models: 
  audio_encoder, version: 1
      Inference count: 504
      Execution count: 252
      Successful request count: 504
      Avg request latency: 2552 usec (overhead 4 usec + queue 215 usec + compute input 36 usec + compute infer 2240 usec + compute output 56 usec)

  audio_preprocess, version: 1
      Inference count: 505
      Execution count: 505
      Successful request count: 505
      Avg request latency: 4929 usec (overhead 2 usec + queue 229 usec + compute input 74 usec + compute infer 4290 usec + compute output 333 usec)

Inferences/Second vs. Client Average Batch Latency
"""


def test_csv_row_becomes_a_point_in_milliseconds():
    p = to_point("multimodal", "grpc", 1, "none", parse_csv(CSV), STDOUT)
    assert p.throughput == pytest.approx(69.88, abs=0.01)
    assert (p.p50_ms, p.p90_ms, p.p99_ms) == (13.593, 18.866, 24.556)
    assert p.server_compute_infer_ms == 24.652 and p.server_queue_ms == 0.002


def test_composing_section_gives_batch_size_and_time_split():
    c = parse_composing(STDOUT)
    assert set(c) == {"audio_encoder", "audio_preprocess"}
    assert c["audio_encoder"]["avg_batch"] == 2.0
    assert c["audio_encoder"]["compute_infer_ms"] == 2.24 and c["audio_encoder"]["queue_ms"] == 0.215
    assert c["audio_preprocess"]["latency_ms"] == 4.929


def test_non_ensemble_output_has_no_composing_models():
    assert parse_composing("  Server:\n    Inference count: 5\n") == {}


def test_empty_csv_is_an_error():
    with pytest.raises(BenchError):
        parse_csv("Concurrency,Inferences/Second\n")


def test_command_adds_shared_memory_flags_only_when_asked(tmp_path):
    s = PerfSettings(window_ms=1500, stability_pct=20, max_trials=4)
    base = perf_command(Path("pa"), "fusion", "h:1", "grpc", tmp_path / "d.json", 4, tmp_path / "o.csv", s)
    shm = perf_command(Path("pa"), "fusion", "h:1", "grpc", tmp_path / "d.json", 4, tmp_path / "o.csv", s, "system")
    assert "--shared-memory" not in base
    assert shm[shm.index("--shared-memory") + 1] == "system"
    for flag, value in (("--concurrency-range", "4"), ("--measurement-interval", "1500"), ("-i", "grpc"),
                        ("--stability-percentage", "20"), ("--max-trials", "4")):
        assert base[base.index(flag) + 1] == value
