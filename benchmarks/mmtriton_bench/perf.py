"""Run the ``perf_analyzer`` bundled in the tritonclient 2.51.0 wheel and read its results.

One invocation per (model, protocol, concurrency) point: each gets its own stable measurement
windows, its CSV (throughput, p50/p90/p99, server-side queue and compute times) and the
per-composing-model breakdown that perf_analyzer prints for ensembles.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from mmtriton.errors import BenchError

log = logging.getLogger(__name__)

_COMPOSING = re.compile(
    r"^\s+(?P<model>[\w.-]+), version: \S*\n(?:\s+Inference count: (?P<inf>\d+)\n)?(?:\s+Execution count: (?P<exe>\d+)\n)?"
    r"(?:.*\n)*?\s+Avg request latency: (?P<lat>\d+) usec \(overhead (?P<overhead>\d+) usec \+ queue (?P<queue>\d+) usec"
    r" \+ compute input (?P<cin>\d+) usec \+ compute infer (?P<cinf>\d+) usec \+ compute output (?P<cout>\d+) usec\)",
    re.MULTILINE)


@dataclass(frozen=True)
class PerfSettings:
    """How long and how stable each measurement must be."""

    window_ms: int = 4000
    stability_pct: int = 25
    max_trials: int = 8
    timeout_s: float = 300.0
    request_count: int = 0  # > 0: exactly this many requests, no stability windows (harness tests)


@dataclass
class PerfPoint:
    """One concurrency point of one model over one protocol (latencies in ms)."""

    model: str
    protocol: str
    concurrency: int
    shared_memory: str
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    server_queue_ms: float
    server_compute_input_ms: float
    server_compute_infer_ms: float
    server_compute_output_ms: float
    composing: dict = field(default_factory=dict)

    def row(self) -> dict:
        out = asdict(self)
        out.pop("composing")
        return out


def find_perf_analyzer() -> Path:
    """The binary from the tritonclient wheel (next to this interpreter) or on PATH."""
    beside = Path(sys.executable).parent / "perf_analyzer"
    found = beside if beside.is_file() else (Path(p) if (p := shutil.which("perf_analyzer")) else None)
    if found is None:
        raise BenchError("perf_analyzer not found: `make setup` installs tritonclient==2.51.0, which ships it")
    return found


def perf_env() -> dict[str, str]:
    """perf_analyzer links libcudart.so.12 even on CPU: add the pip CUDA runtime to the loader path."""
    env = dict(os.environ)
    try:
        import nvidia.cuda_runtime as cr

        lib = Path(list(cr.__path__)[0]) / "lib"
        env["LD_LIBRARY_PATH"] = f"{lib}:{env['LD_LIBRARY_PATH']}" if env.get("LD_LIBRARY_PATH") else str(lib)
    except ImportError:
        log.warning("nvidia-cuda-runtime-cu12 is not installed; perf_analyzer may not start")
    return env


ADMIN_KEY_ENV, ADMIN_HEADER_ENV = "TRITON_ADMIN_KEY", "TRITON_ADMIN_HEADER"


def admin_header() -> Optional[tuple[str, str]]:
    """(header, key) for a server whose statistics API is restricted (the compose deployment).

    perf_analyzer reads server-side statistics after every window; it can send an HTTP header
    but no gRPC metadata, so against a restricted server only its HTTP runs get the split.
    """
    key = os.environ.get(ADMIN_KEY_ENV)
    return (os.environ.get(ADMIN_HEADER_ENV, "admin-key"), key) if key else None


def redacted(cmd: list[str]) -> str:
    """The command for logs, with the admin key replaced."""
    secret = admin_header()
    text = " ".join(cmd)
    return text.replace(secret[1], "***") if secret else text


def perf_command(binary: Path, model: str, url: str, protocol: str, data: Path, concurrency: int,
                 csv_path: Path, settings: PerfSettings, shared_memory: str = "none") -> list[str]:
    cmd = [str(binary), "-m", model, "-u", url, "-i", protocol, "--input-data", str(data),
           "--concurrency-range", str(concurrency), "--measurement-interval", str(settings.window_ms),
           "--stability-percentage", str(settings.stability_pct), "--max-trials", str(settings.max_trials),
           "-f", str(csv_path), "--verbose-csv"]  # stability on average latency; the CSV has p50..p99
    if settings.request_count > 0:
        cmd += ["--request-count", str(settings.request_count)]
    if shared_memory != "none":
        cmd += ["--shared-memory", shared_memory, "--output-shared-memory-size", str(1 << 20)]
    header = admin_header()
    if header and protocol == "http":
        cmd += ["-H", f"{header[0]}:{header[1]}"]
    return cmd


def parse_csv(text: str) -> dict[str, float]:
    """The single data row of perf_analyzer's CSV (times in microseconds)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise BenchError("perf_analyzer wrote no measurement")
    return {k: float(v) for k, v in rows[0].items() if k and v not in (None, "")}


def parse_composing(stdout: str) -> dict[str, dict]:
    """Per composing model: average batch size and the server-side time split (ms)."""
    out = {}
    for m in _COMPOSING.finditer(stdout.split("Composing models:", 1)[-1] if "Composing models:" in stdout else ""):
        inf, exe = int(m["inf"] or 0), int(m["exe"] or 0)
        out[m["model"]] = {"avg_batch": round(inf / exe, 2) if exe else None, "latency_ms": int(m["lat"]) / 1000,
                           **{k: int(m[g]) / 1000 for k, g in (("queue_ms", "queue"), ("compute_input_ms", "cin"),
                                                             ("compute_infer_ms", "cinf"), ("compute_output_ms", "cout"))}}
    return out


def to_point(model: str, protocol: str, concurrency: int, shm: str, row: dict[str, float], stdout: str) -> PerfPoint:
    ms = lambda key: round(row.get(key, 0.0) / 1000, 3)  # noqa: E731
    return PerfPoint(model, protocol, concurrency, shm, round(row["Inferences/Second"], 2), ms("p50 latency"),
                     ms("p90 latency"), ms("p99 latency"), ms("Server Queue"),
                     ms("Server Compute Input"), ms("Server Compute Infer"), ms("Server Compute Output"),
                     parse_composing(stdout))


def run_point(model: str, url: str, protocol: str, data: Path, concurrency: int, work: Path,
              settings: PerfSettings, shared_memory: str = "none", binary: Optional[Path] = None) -> PerfPoint:
    """Measure one point; an unstable one is retried once with a doubled window, then a failure
    raises BenchError with perf_analyzer's own words."""
    try:
        return _run_point(model, url, protocol, data, concurrency, work, settings, shared_memory, binary)
    except BenchError as e:
        if "stable" not in str(e):
            raise
        log.warning("unstable: %s c=%d, retrying with a %d ms window", model, concurrency, settings.window_ms * 2)
        wider = dataclasses.replace(settings, window_ms=settings.window_ms * 2)
        return _run_point(model, url, protocol, data, concurrency, work, wider, shared_memory, binary)


def _run_point(model: str, url: str, protocol: str, data: Path, concurrency: int, work: Path,
               settings: PerfSettings, shared_memory: str, binary: Optional[Path]) -> PerfPoint:
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"{model}-{protocol}-{shared_memory}-c{concurrency}.csv"
    cmd = perf_command(binary or find_perf_analyzer(), model, url, protocol, data, concurrency, csv_path,
                       settings, shared_memory)
    log.debug("running %s", redacted(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=perf_env(), timeout=settings.timeout_s)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"perf_analyzer on {model} (c={concurrency}) ran past {settings.timeout_s:.0f} s") from e
    (work / csv_path.with_suffix(".log").name).write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not csv_path.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
        raise BenchError(f"perf_analyzer on {model} ({protocol}, c={concurrency}) failed:\n{tail}")
    return to_point(model, protocol, concurrency, shared_memory, parse_csv(csv_path.read_text()), proc.stdout)
