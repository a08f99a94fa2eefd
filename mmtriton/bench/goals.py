"""The Step-4 goals as ratios of measurements taken in the same run (reported met or missed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Goal:
    name: str
    target: str
    measured: str
    met: Optional[bool]  # None: could not be measured in this run


def _ens(points: list, model: str, protocol: str = "grpc") -> list:
    return [p for p in points if p.model == model and p.protocol == protocol and p.shared_memory == "none"]


def _load(res: Any, system: str, c: int) -> Optional[Any]:
    return next((r for r in res.loadgen if r.system == system and r.concurrency == c), None)


def throughput_vs_floor(res: Any, ensemble: str) -> Goal:
    pts = _ens(res.perf, ensemble)
    if not pts or res.floor_multi is None:
        return Goal("ensemble throughput vs in-process multi-process floor", ">= 0.90x", "not measured", None)
    best = max(pts, key=lambda p: p.throughput)
    ratio = best.throughput / res.floor_multi.throughput
    return Goal("ensemble throughput vs in-process multi-process floor", ">= 0.90x",
                f"{ratio:.2f}x ({best.throughput:.1f}/s at c={best.concurrency} vs {res.floor_multi.throughput:.1f}/s "
                f"in {res.floor_multi.processes} processes, batch {res.floor_multi.batch})", ratio >= 0.9)


def vs_fastapi(res: Any, c: int = 8) -> Goal:
    tri, fa = _load(res, "triton-sdk-grpc", c), _load(res, "fastapi-eager", c)
    if tri is None or fa is None or not fa.throughput:
        return Goal(f"throughput vs FastAPI + PyTorch eager at c={c}", ">= 3.0x, p99 no worse", "not measured", None)
    ratio = tri.throughput / fa.throughput
    return Goal(f"throughput vs FastAPI + PyTorch eager at c={c}", ">= 3.0x, p99 no worse",
                f"{ratio:.2f}x ({tri.throughput:.1f}/s vs {fa.throughput:.1f}/s); p99 {tri.p99_ms:.1f} vs "
                f"{fa.p99_ms:.1f} ms", ratio >= 3.0 and tri.p99_ms <= fa.p99_ms)


def added_latency(res: Any, ensemble: str) -> Goal:
    c1 = [p for p in _ens(res.perf, ensemble) if p.concurrency == 1]
    single = next((f for f in res.floor if f.batch == 1 and f.processes == 1), None)
    if not c1 or single is None:
        return Goal("added latency at c=1 (ensemble p50 - in-process p50)", "<= 2 ms", "not measured", None)
    added = c1[0].p50_ms - single.p50_ms
    return Goal("added latency at c=1 (ensemble p50 - in-process p50)", "<= 2 ms",
                f"{added:.1f} ms ({c1[0].p50_ms:.1f} - {single.p50_ms:.1f})", added <= 2.0)


def preprocessing(res: Any) -> list[Goal]:
    p = res.preproc
    if not p:
        return []
    rows = (("image: 640x480 JPEG -> model input, per core", 400, p["image_640x480_jpeg_per_s"]["ours"],
             f"Pillow plain decode {p['image_640x480_jpeg_per_s']['pillow_plain']:.0f}/s"),
            ("audio: 3 s 44.1 kHz WAV -> log-mel, per core", 300, p["audio_3s_44k_wav_per_s"]["ours"],
             f"librosa default {p['audio_3s_44k_wav_per_s']['librosa_default']:.0f}/s"),
            ("text: tokenisation, batched, per core", 10_000, p["text_captions_per_s"]["ours_batched_256"],
             f"one at a time {p['text_captions_per_s']['ours_one_at_a_time']:.0f}/s"))
    return [Goal(name, f">= {target:,}/s", f"{value:,.0f}/s ({beside})", value >= target)
            for name, target, value, beside in rows]


def evaluate(res: Any, ensemble: str = "multimodal") -> list[Goal]:
    return [throughput_vs_floor(res, ensemble), vs_fastapi(res), added_latency(res, ensemble), *preprocessing(res)]


def batching_gain(res: Any, ensemble: str = "multimodal") -> Optional[float]:
    """Best ensemble throughput with dynamic batching / without it (from the main and flipped runs)."""
    main, flipped = _ens(res.perf, ensemble), _ens(res.perf_flip, ensemble)
    if not main or not flipped or res.flip_batches is None:
        return None
    with_b, without = (flipped, main) if res.flip_batches else (main, flipped)
    return max(p.throughput for p in with_b) / max(p.throughput for p in without)
