"""Replica sizing from a measured per-replica throughput: a utilisation ceiling plus an M/M/c
(Erlang C) waiting-time check.

Queueing assumptions (also stated in the report): arrivals are Poisson at the peak rate; each
replica is one server whose service time is exponential with rate mu = its measured throughput
at the latency SLO; all replicas share one FIFO queue (a balancer that hands a request to the
first free replica, optimistic next to random routing); the wait budget is what the SLO leaves
after the replica's own p99 at that throughput."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from mmtriton.errors import BenchError, WorkflowError

ENSEMBLE = "multimodal"
MAX_REPLICAS = 10_000  # a search bound, far beyond any sane pool


@dataclass(frozen=True)
class ReplicaThroughput:
    """Requests/s one replica sustains with p99 <= the SLO, and where the figure came from."""

    rps: float
    p99_ms: float
    concurrency: int
    variant: str
    source: str


def erlang_b(offered: float, servers: int) -> float:
    """Blocking probability by the recursion B(k) = A B(k-1) / (k + A B(k-1)): no factorials or
    powers of A, so it stays finite for thousands of servers where the textbook sum overflows."""
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    return b


def erlang_c(offered: float, servers: int) -> float:
    """P(an arrival waits) in M/M/c with offered load A = lambda/mu Erlangs; 1 when A >= c
    (the queue grows without bound), else C = B / (1 - rho (1 - B)) with rho = A / c."""
    if offered >= servers:
        return 1.0
    b = erlang_b(offered, servers)
    return b / (1.0 - offered / servers * (1.0 - b))


def mean_wait_s(arrival_rps: float, mu: float, servers: int) -> float:
    """Mean time in queue, C / (c mu - lambda); infinite at or beyond saturation."""
    spare = servers * mu - arrival_rps
    return erlang_c(arrival_rps / mu, servers) / spare if spare > 0 else math.inf


def p_wait_over(arrival_rps: float, mu: float, servers: int, budget_s: float) -> float:
    """P(wait > budget) = C exp(-(c mu - lambda) t): the wait is exponential given it is > 0."""
    spare = servers * mu - arrival_rps
    return erlang_c(arrival_rps / mu, servers) * math.exp(-spare * budget_s) if spare > 0 else 1.0


@dataclass(frozen=True)
class SizingRow:
    replicas: int
    utilisation: float
    p_wait: float
    mean_wait_ms: float
    p_over_budget: float
    ok: bool


@dataclass(frozen=True)
class Sizing:
    replicas: int
    rows: tuple[SizingRow, ...]  # a few replica counts around the answer, for the report


def size(peak_rps: float, mu: float, target_utilisation: float, budget_ms: float, quantile: float = 0.99) -> Sizing:
    """The smallest replica count c with lambda / (c mu) <= target and P(wait > budget) <= 1 -
    quantile (a p99 SLO tolerates 1 % of requests over it)."""
    if not 0 < target_utilisation <= 1 or peak_rps <= 0 or mu <= 0 or budget_ms < 0:
        raise WorkflowError(f"cannot size: peak {peak_rps}, mu {mu}, target utilisation {target_utilisation}, "
                            f"wait budget {budget_ms} ms (need positive rates, 0 < target <= 1, budget >= 0)")

    def row(c: int) -> SizingRow:
        util, tail = peak_rps / (c * mu), p_wait_over(peak_rps, mu, c, budget_ms / 1000)
        return SizingRow(c, util, erlang_c(peak_rps / mu, c), mean_wait_s(peak_rps, mu, c) * 1000, tail,
                         util <= target_utilisation and tail <= 1 - quantile)

    c = max(1, math.floor(peak_rps / mu))
    while not row(c).ok:
        c += 1
        if c > MAX_REPLICAS:
            raise WorkflowError(f"no replica count up to {MAX_REPLICAS} meets the constraints")
    return Sizing(c, tuple(row(k) for k in range(max(1, c - 3), c + 2)))


def replica_throughput(perf_csv: Path, slo_ms: float) -> ReplicaThroughput:
    """The highest measured ensemble throughput (gRPC, no shared memory) whose p99 is within the
    SLO, from the tuned variant's rows if there are any: the policy the repository ships."""
    try:
        with perf_csv.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if (r["model"], r["protocol"], r["shared_memory"]) ==
                    (ENSEMBLE, "grpc", "none")]
    except (OSError, KeyError) as e:
        raise BenchError(f"cannot read perf_analyzer results {perf_csv}: {e} (run `make bench FULL=1`)") from e
    rows = [r for r in rows if r.get("variant") == "tuned"] or rows
    within = [r for r in rows if float(r["p99_ms"]) <= slo_ms]
    if not within:
        raise BenchError(f"no {ENSEMBLE} gRPC row of {perf_csv} has p99 <= {slo_ms:g} ms")
    best = max(within, key=lambda r: float(r["throughput"]))
    return ReplicaThroughput(float(best["throughput"]), float(best["p99_ms"]), int(best["concurrency"]),
                             best.get("variant", ""), str(perf_csv))
