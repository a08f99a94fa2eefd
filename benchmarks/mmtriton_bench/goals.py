"""The Step-4 goals as ratios of measurements taken in the same run (reported met or missed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from mmtriton_bench.paired import median


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


def _per_round(values: list[float], fmt: str) -> str:
    return f"median of {len(values)} paired rounds: " + ", ".join(format(v, fmt) for v in values)


def paired_goals(rounds: list) -> list[Goal]:
    """The three ratio goals from back-to-back measurements (benchmarks/mmtriton_bench/paired.py)."""
    fl, fa = [r.floor_ratio for r in rounds], [r.fastapi_ratio for r in rounds]
    lat = [r.added_latency_ms for r in rounds]
    p99_t, p99_f = median([r.triton_c8_p99_ms for r in rounds]), median([r.fastapi_c8_p99_ms for r in rounds])
    return [Goal("ensemble throughput vs in-process multi-process floor", ">= 0.90x",
                 f"{median(fl):.2f}x ({_per_round(fl, '.2f')})", median(fl) >= 0.9),
            Goal("throughput vs FastAPI + PyTorch eager at c=8", ">= 3.0x, p99 no worse",
                 f"{median(fa):.2f}x ({_per_round(fa, '.2f')}); median p99 {p99_t:.1f} vs {p99_f:.1f} ms",
                 median(fa) >= 3.0 and p99_t <= p99_f),
            Goal("added latency at c=1 (ensemble p50 - in-process p50)", "<= 2 ms",
                 f"{median(lat):.1f} ms ({_per_round(lat, '.1f')})", median(lat) <= 2.0)]


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
    """Paired rounds when the run has them; otherwise the sweeps' own points."""
    ratios = paired_goals(res.rounds) if getattr(res, "rounds", None) else \
        [throughput_vs_floor(res, ensemble), vs_fastapi(res), added_latency(res, ensemble)]
    return [*ratios, *preprocessing(res)]


def batching_gain(res: Any, ensemble: str = "multimodal") -> Optional[float]:
    """Best ensemble throughput with dynamic batching / without it (from the main and flipped runs)."""
    main, flipped = _ens(res.perf, ensemble), _ens(res.perf_flip, ensemble)
    if not main or not flipped or res.flip_batches is None:
        return None
    with_b, without = (flipped, main) if res.flip_batches else (main, flipped)
    return max(p.throughput for p in with_b) / max(p.throughput for p in without)
