"""PNG plots of a benchmark run (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

ENSEMBLE = "multimodal"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(res: Any) -> dict[str, list[tuple[float, float, int]]]:
    """System name -> [(p99 ms, throughput, concurrency)] over its concurrency sweep."""
    out: dict[str, list] = {}
    for p in res.perf:
        if p.model == ENSEMBLE and p.shared_memory == "none":
            out.setdefault(f"Triton ensemble, perf_analyzer {p.protocol}", []).append((p.p99_ms, p.throughput, p.concurrency))
    flipped = "on" if res.flip_batches else "off"
    for p in res.perf_flip:
        out.setdefault(f"Triton, dynamic batching {flipped} (gRPC)", []).append((p.p99_ms, p.throughput, p.concurrency))
    for r in res.loadgen:
        out.setdefault(f"{r.system} (load generator)", []).append((r.p99_ms, r.throughput, r.concurrency))
    return out


def throughput_latency_plot(res: Any, path: Path) -> Optional[Path]:
    series = _series(res)
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, pts in series.items():
        pts = sorted(pts, key=lambda x: x[2])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        for p99, thr, c in pts:
            ax.annotate(str(c), (p99, thr), fontsize=7, textcoords="offset points", xytext=(3, 3))
    if res.floor_multi is not None:
        ax.axhline(res.floor_multi.throughput, linestyle="--", color="grey",
                   label=f"in-process floor, {res.floor_multi.processes} processes")
    ax.set_xscale("log")
    ax.set_xlabel("p99 latency (ms, log scale); labels = concurrency")
    ax.set_ylabel("requests / s")
    device = res.identity.device if getattr(res, "identity", None) else "this machine"
    ax.set_title(f"Throughput vs p99 latency ({device})"[:90])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def breakdown_plot(res: Any, path: Path, concurrency: int = 8) -> Optional[Path]:
    pts = [p for p in res.perf if p.model == ENSEMBLE and p.protocol == "grpc" and p.composing]
    if not pts:
        return None
    point = min(pts, key=lambda p: abs(p.concurrency - concurrency))
    names = sorted(point.composing, key=lambda n: -point.composing[n]["latency_ms"])
    parts = ("queue_ms", "compute_input_ms", "compute_infer_ms", "compute_output_ms")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    left = [0.0] * len(names)
    for part in parts:
        vals = [point.composing[n][part] for n in names]
        ax.barh(names, vals, left=left, label=part.replace("_ms", "").replace("_", " "))
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlabel("ms per request (server side)")
    ax.set_title(f"Per-model breakdown inside the ensemble (gRPC, concurrency {point.concurrency})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
