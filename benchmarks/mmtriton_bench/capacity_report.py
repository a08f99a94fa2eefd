"""The capacity report: markdown with every input marked measured or placeholder, the sizing
table, the simulated day (plot, summary JSON) and the start-up sensitivity."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from mmtriton_bench.capacity import ReplicaThroughput, Sizing
from mmtriton_bench.capacity_sim import SYNC_S, TOLERANCE, Autoscaling, Day
from mmtriton_bench.markdown import table
from mmtriton_bench.plots import _pyplot


@dataclass(frozen=True)
class CapacityRun:
    command: str
    slo_ms: float
    peak_rps: float
    target_utilisation: float
    startup_s: float
    measured: ReplicaThroughput
    override_rps: Optional[float]  # --throughput: a GPU figure measured elsewhere
    budget_ms: float
    sizing: Sizing
    hpa: Autoscaling
    values: Path
    day: Day
    sensitivity: tuple[tuple[float, Day], ...]  # (start-up s, day)

    @property
    def mu(self) -> float:
        return self.measured.rps if self.override_rps is None else self.override_rps


def day_plot(run: CapacityRun, path: Path) -> Path:
    d, plt = run.day, _pyplot()
    hours = [t / 3600 for t in d.t_s]
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(hours, d.arrival_rps, label="arrivals (req/s)", linewidth=1.2)
    ax.step(hours, d.capacity_rps, where="post", label="ready capacity, autoscaled (req/s)", linewidth=1)
    ax.axhline(run.sizing.replicas * run.mu, color="grey", linestyle="--",
               label=f"static capacity, {run.sizing.replicas} replicas")
    hit = [(h, a) for h, a, r in zip(hours, d.arrival_rps, d.rejected_rps) if r > 0]
    if hit:
        ax.scatter(*zip(*hit), color="red", marker="x", s=18, zorder=3, label="requests rejected")
    ax.set_xlabel("hour of the day")
    ax.set_ylabel("requests / s")
    ax.set_xlim(0, 24)
    right = ax.twinx()
    right.step(hours, d.replicas, where="post", color="black", alpha=0.5, linewidth=0.9,
               label="replicas (incl. starting)")
    right.set_ylabel("replicas")
    right.set_ylim(0, run.hpa.max_replicas + 1)
    lines = ax.get_legend_handles_labels(), right.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], fontsize=8, loc="upper left")
    ax.set_title(f"Simulated day: HPA on the queue-to-compute ratio, pod start-up {run.startup_s:g} s")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _inputs(run: CapacityRun) -> str:
    m, a = run.measured, run.hpa
    thr = (f"{run.override_rps:g} req/s", "measured elsewhere (GPU), given with `--throughput`", "command line") \
        if run.override_rps else (f"{m.rps:g} req/s (c={m.concurrency}, p99 {m.p99_ms:g} ms)",
                                  "measured: 2-core CPU, embedded server, not a GPU",
                                  f"`{m.source}` from `make bench FULL=1`: {m.variant} multimodal gRPC rows")
    return table(("input", "value", "status", "source"), [
        ("per-replica throughput at p99 <= SLO",) + thr,
        ("latency SLO", f"p99 <= {run.slo_ms:g} ms", "choice", "`--slo-ms`"),
        ("wait budget", f"{run.budget_ms:.1f} ms", "derived: SLO - measured p99 at that throughput",
         f"`{m.source}` (CPU row, also with `--throughput`)"),
        ("peak arrival rate", f"{run.peak_rps:g} req/s", "placeholder", "`--peak-rps`"),
        ("target utilisation", f"{run.target_utilisation:g}", "choice", "`--target-utilisation`"),
        ("pod start-up", f"{run.startup_s:g} s", "placeholder: GPU model load, not measured", "`--startup-s`"),
        ("autoscaling", f"min {a.min_replicas}, max {a.max_replicas}, target {a.target:g}, stabilisation up "
         f"{a.up_window_s:g} s / down {a.down_window_s:g} s", "chart values", f"`{run.values}`"),
        ("HPA rate limits", f"up {a.up_pods} pods / {a.up_period_s:g} s, down {a.down_pods} / {a.down_period_s:g} s",
         "chart template",
         "`deploy/helm/mmtriton/templates/hpa.yaml` `behavior` (mirrored in code; a unit test checks)"),
        ("HPA tolerance, sync period", f"{TOLERANCE:g}, {SYNC_S:g} s", "Kubernetes defaults",
         "kube-controller-manager"),
        ("traffic curve", "diurnal + 08:00 ramp + 10-min burst at 06:30", "placeholder (synthetic, deterministic)",
         "`capacity_sim.traffic`")])


def _summary(run: CapacityRun) -> dict:
    d, a = run.day, run.hpa
    static = run.sizing.replicas
    return {"offered": round(d.offered), "served": round(d.offered - d.rejected), "rejected": round(d.rejected),
            "rejected_pct": 100 * d.rejected / d.offered, "replica_hours": d.replica_hours,
            "static_replica_hours": static * 24.0, "static_replicas": static, "max_replicas": max(d.replicas),
            "hours_at_max": sum(r == a.max_replicas for r in d.replicas) * d.dt_s / 3600,
            "hpa_wants_at_peak": math.ceil(run.peak_rps / (run.mu * a.target_utilisation()))}


def _day_table(run: CapacityRun, s: dict) -> str:
    return table(("", "autoscaled (HPA)", f"static, {s['static_replicas']} replicas"), [
        ("requests offered", f"{s['offered']:,}", f"{s['offered']:,}"),
        ("requests served", f"{s['served']:,}", f"{s['offered']:,}"),
        ("requests rejected", f"{s['rejected']:,} ({s['rejected_pct']:.3f} %)", "0 (capacity >= peak)"),
        ("replica-hours", s["replica_hours"], s["static_replica_hours"]),
        ("max replicas", s["max_replicas"], s["static_replicas"]),
        (f"hours at maxReplicas ({run.hpa.max_replicas})", s["hours_at_max"], "-")])


def _notes(run: CapacityRun, s: dict) -> list[str]:
    a = run.hpa
    first = (f"- The chart's target {a.target:g} is a per-pod utilisation of {a.target_utilisation():.2f} under "
             f"M/M/1; the sizing's {run.target_utilisation:g} would be a target of "
             f"{run.target_utilisation / (1 - run.target_utilisation):.2f}." if run.target_utilisation < 1 else "")
    if s["hpa_wants_at_peak"] > a.max_replicas:
        first += (f" At the peak the HPA wants {s['hpa_wants_at_peak']} replicas; maxReplicas {a.max_replicas} "
                  f"caps it for {s['hours_at_max']:.1f} h of the day.")
    return [first, "- Rejections come from load rising faster than pods start: a new pod serves one sync period "
            "plus the start-up time after the rise; the burst meets a pool sized for the night.",
            "- The M/M/1 reading of the metric is an assumption. The real Prometheus test "
            "(`pytest -s tests/integration/test_prometheus.py`, figures in the README) measures a much flatter "
            "curve on the embedded CPU server: batched compute is counted for every request of a batch, and the "
            "pipeline's steps add a floor at low load. Calibrate the target from that test on a GPU before "
            "trusting the replica counts of this simulation."]


def _day_section(run: CapacityRun, s: dict) -> list[str]:
    sens = [(f"{st:g}", f"{d.rejected:,.0f}", f"{100 * d.rejected / d.offered:.3f} %", d.replica_hours, max(d.replicas))
            for st, d in run.sensitivity]
    return ["## A day against the HPA", "",
            f"Every {SYNC_S:g} s: desired = ceil(current x metric / target) outside the +-{TOLERANCE:g} band "
            "(starting pods count as 0 when scaling up, as the target when scaling down); scale-down takes the "
            "highest recommendation of its window, scale-up the lowest of its; the chart's rate limits "
            f"(up {run.hpa.up_pods} pods per {run.hpa.up_period_s:g} s, down {run.hpa.down_pods} per "
            f"{run.hpa.down_period_s:g} s); min/max. Each ready pod is an M/M/1 queue with the load spread "
            "evenly, so the metric (queue time / compute time) is rho / (1 - rho); arrivals beyond the ready "
            "capacity are rejected (the queue policy's max_queue_size). Not modelled: Prometheus scrape/rate "
            "lag, drain on scale-down.", "", _day_table(run, s), "",
            "![arrivals, capacity, replicas and rejections over the day](capacity/day.png)", "",
            "Start-up sensitivity (same day, same chart values):", "",
            table(("pod start-up (s)", "rejected", "share", "replica-hours", "max replicas"), sens), "",
            "## Reading it", ""] + _notes(run, s)


def write_report(run: CapacityRun, out: Path) -> Path:
    """``<out>/capacity.md`` with ``<out>/capacity/day.png`` and ``summary.json`` beside it."""
    folder = out / "capacity"
    day_plot(run, folder / "day.png")
    s, m = _summary(run), run.sizing
    rows = [{k: (None if v == math.inf else v) for k, v in asdict(r).items()} for r in m.rows]  # JSON has no inf
    (folder / "summary.json").write_text(json.dumps(
        {"command": run.command, "per_replica_rps": run.mu, "budget_ms": run.budget_ms, "sizing": rows,
         "replicas": m.replicas, "hpa": asdict(run.hpa), "day": s}, indent=2) + "\n")
    source = "GPU throughput from `--throughput`" if run.override_rps else "2-core CPU figures, not a GPU result"
    lines = [f"# Capacity model — {source}", "", f"Produced by `{run.command}`. Measured inputs and placeholders are "
             "marked below; replace the placeholders (peak rate, start-up time, and the CPU throughput with a GPU "
             "sweep's, `--throughput RPS`) before reading the replica counts as a plan.", "",
             "## Inputs", "", _inputs(run), "", "## Sizing (M/M/c, Erlang C)", "",
             "Assumptions: Poisson arrivals at the peak rate; each replica one server with exponential service at "
             "the per-replica throughput; one shared FIFO queue (a balancer that picks a free replica: optimistic "
             "next to random routing); a replica's own p99 already spends most of the SLO, the rest is the wait "
             "budget. The answer is the smallest c with utilisation <= target and P(wait > budget) <= 1 %.", "",
             f"**{m.replicas} replicas** for {run.peak_rps:g} req/s at {run.mu:g} req/s per replica.", "",
             table(("replicas", "utilisation", "P(wait)", "mean wait (ms)", "P(wait > budget)", "meets both"),
                   [(r.replicas, r.utilisation, f"{r.p_wait:.4f}", r.mean_wait_ms, f"{r.p_over_budget:.4f}",
                     "yes" if r.ok else "no") for r in m.rows]), ""]
    path = out / "capacity.md"
    path.write_text("\n".join(lines + _day_section(run, s)) + "\n")
    return path
