"""Soak report: markdown verdict and tables, samples as CSV, RSS and queue plots."""

from __future__ import annotations

import csv
import platform
from pathlib import Path

from mmtriton_bench.soak import SoakResult


def write_csv(res: SoakResult, path: Path) -> None:
    names = sorted({n for s in res.samples for n in s.rss})
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "rss_total_mb", "shm_mb", "failures", "successes", "pending_sum", "pending_max_model", "queue_us"]
                   + [f"rss_{n}_mb" for n in names])
        for s in res.samples:
            w.writerow([s.t, round(s.rss_total / 2**20, 1), round(s.shm_bytes / 2**20, 1), s.failures, s.successes,
                        s.pending, s.pending_max, s.queue_us] + [round(s.rss.get(n, 0) / 2**20, 1) for n in names])


def write_plots(res: SoakResult, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s.t / 60 for s in res.samples]
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    a.plot(t, [s.rss_total / 2**20 for s in res.samples], label="whole tree", linewidth=2)
    for name in sorted({n for s in res.samples for n in s.rss}):
        a.plot(t, [s.rss.get(name, 0) / 2**20 for s in res.samples], linewidth=0.8, label=name)
    a.axvline(res.cfg.warmup_s / 60, color="grey", linestyle="--", label="end of warm-up")
    a.set_ylabel("RSS (MiB)")
    a.legend(fontsize=6, ncol=3)
    a.set_title("RSS of tritonserver and each Python-backend stub")
    b.plot(t, [s.pending for s in res.samples], label="pending requests (sum over models)")
    b.plot(t, [s.pending_max for s in res.samples], label="pending requests (largest model)")
    b.plot(t, [s.shm_bytes / 2**20 for s in res.samples], label="/dev/shm (MiB)")
    b.set_xlabel("minutes")
    b.legend(fontsize=8)
    fig.tight_layout()
    path = out / "soak.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def _process_rows(res: SoakResult) -> list[str]:
    after = [s for s in res.samples if s.t >= res.cfg.warmup_s]
    rows = ["| process | RSS at start (MiB) | after warm-up | at end | growth after warm-up (MiB) |", "|---|---|---|---|---|"]
    for name in sorted({n for s in res.samples for n in s.rss}):
        first, warm, last = res.samples[0].rss.get(name, 0), after[0].rss.get(name, 0), res.samples[-1].rss.get(name, 0)
        rows.append(f"| {name} | {first / 2**20:.0f} | {warm / 2**20:.0f} | {last / 2**20:.0f} | {res.growth_mb(name):+.1f} |")
    rows.append(f"| **whole tree** | {res.samples[0].rss_total / 2**20:.0f} | {after[0].rss_total / 2**20:.0f} | "
                f"{res.samples[-1].rss_total / 2**20:.0f} | **{res.growth_mb():+.1f}** |")
    return rows


def write_report(res: SoakResult, out: Path, command: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    write_csv(res, out / "soak.csv")
    write_plots(res, out)
    thr = [w["throughput"] for w in res.windows]
    lines = [
        "# Soak: the ensemble at saturation", "",
        f"Command: `{command}`. Machine: {platform.machine()}, {_cores()} cores (the development machine: "
        "a CPU figure, not a GPU one). Server: embedded Triton 2.51.0, the committed serving policy.", "",
        f"{res.seconds / 60:.1f} min of perf_analyzer at concurrency {res.cfg.concurrency} (gRPC, "
        f"{res.cfg.items} held-out items, every modality subset, large JPEGs and long WAVs), warm-up "
        f"{res.cfg.warmup_s:.0f} s, samples every {res.cfg.interval_s:g} s.", "",
        "| check | result | measured |", "|---|---|---|",
    ]
    measured = {"zero failures": f"{res.failed_requests:.0f} failed of {res.served_requests + res.failed_requests:.0f}"
                                 f" requests; {len(res.perf_errors)} perf_analyzer errors",
                "pending bounded by the concurrency (per model)":
                    f"max {res.max_pending:.0f} pending in one model, {max(s.pending for s in res.samples):.0f} summed over "
                    f"models (concurrency {res.cfg.concurrency})"}
    for name, ok in res.verdict().items():
        value = measured.get(name, f"{res.growth_mb():+.1f} MiB (whole tree)")
        lines.append(f"| {name} | {'pass' if ok else 'FAIL'} | {value} |")
    lines += ["", f"Throughput per perf_analyzer invocation (3 x {res.cfg.window_s:.0f} s windows): "
              + (f"min {min(thr):.1f}, median {sorted(thr)[len(thr) // 2]:.1f}, max {max(thr):.1f} infer/s "
                 f"over {len(thr)} invocations." if thr else "none completed."), "",
              "## Memory per process", "", *_process_rows(res), "",
              f"Shared memory (/dev/shm, Python backend regions): {res.samples[0].shm_bytes / 2**20:.0f} MiB at start, "
              f"{max(s.shm_bytes for s in res.samples) / 2**20:.0f} MiB max, {res.samples[-1].shm_bytes / 2**20:.0f} MiB at end.",
              "", "![RSS and pending](soak.png)", "", "Samples: [soak.csv](soak.csv)."]
    if res.perf_errors:
        lines += ["", "perf_analyzer errors:", *(f"- {e}" for e in res.perf_errors)]
    path = out / "soak.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))
