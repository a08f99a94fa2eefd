"""The markdown sections of a benchmark report (one function per section)."""

from __future__ import annotations

from typing import Any, Optional

from mmtriton_bench.markdown import table

ENSEMBLE = "multimodal"


def intro(plan: Any, command: str, gpu: bool = False) -> str:
    return (f"Produced by `{command}` on the machine below. Every system ran on the same cores, one at a time, "
            f"on the same {plan.items} held-out items. perf_analyzer windows: {plan.perf.window_ms} ms, stability "
            f"{plan.perf.stability_pct} %. The load generator (`benchmarks/mmtriton_bench/loadgen.py`) ran {plan.loadgen_warmup_s:g} s "
            f"warm-up + {plan.loadgen_window_s:g} s per point. Latencies in ms, throughput in requests/s "
            "(one request = one item). "
            + ("" if gpu else "On a CPU-only machine the load generator and perf_analyzer share the cores with the "
               "server: the numbers compare systems on this machine; they do not predict a GPU deployment."))


def workload(res: Any) -> str:
    w = res.workload
    subsets = ", ".join(f"{k}: {v}" for k, v in w["subsets"].items())
    return (f"{w['items']} items from the held-out split (unseen fonts and voices). Subsets: {subsets}. "
            f"{w['large_images']} images re-encoded as 640x480 JPEG, {w['long_clips']} clips as 3 s 44.1 kHz WAV, "
            f"{w['long_captions']} long captions (truncated to the token limit); mean encoded file "
            f"{w['mean_encoded_kib']} KiB. perf_analyzer `--input-data` JSON is generated from the spec "
            "(`benchmarks/mmtriton_bench/inputdata.py`): BYTES as base64 with the 4-byte length prefix, tensors for the "
            "tensor models computed from the same files.")


def triton_section(res: Any, plots: dict) -> str:
    rows = [(p.protocol, p.concurrency, p.throughput, p.p50_ms, p.p90_ms, p.p99_ms, p.server_queue_ms,
             p.server_compute_infer_ms) for p in res.perf if p.model == ENSEMBLE]
    text = "## Triton ensemble `multimodal` (perf_analyzer)\n\n" + table(
        ("protocol", "concurrency", "infer/s", "p50", "p90", "p99", "server queue", "server compute"), rows)
    sdk = [r for r in res.loadgen if r.system.startswith("triton")]
    if sdk:
        text += "\n\nSame server through the project's async client SDK (`mmtriton_client.AsyncClient`, gRPC):\n\n"
        text += table(("concurrency", "req/s", "p50", "p90", "p99", "errors"),
                      [(r.concurrency, r.throughput, r.p50_ms, r.p90_ms, r.p99_ms, r.errors) for r in sdk])
    if plots.get("throughput"):
        text += f"\n\n![throughput vs p99]({plots['throughput']})"
    return text


def _breakdown_point(res: Any, concurrency: int = 8) -> Optional[Any]:
    pts = [p for p in res.perf if p.model == ENSEMBLE and p.protocol == "grpc" and p.composing]
    return min(pts, key=lambda p: abs(p.concurrency - concurrency)) if pts else None


def breakdown_section(res: Any, plots: dict) -> str:
    p = _breakdown_point(res)
    if p is None:
        return ""
    rows = [(name, v["avg_batch"], v["queue_ms"], v["compute_input_ms"], v["compute_infer_ms"], v["compute_output_ms"],
             v["latency_ms"]) for name, v in sorted(p.composing.items(), key=lambda kv: -kv[1]["latency_ms"])]
    text = (f"## Per-model server-side breakdown (ensemble, gRPC, c={p.concurrency})\n\n"
            + table(("model", "avg batch", "queue", "compute input", "compute infer", "compute output", "total"), rows))
    if plots.get("breakdown"):
        text += f"\n\n![per-model breakdown]({plots['breakdown']})"
    return text


def models_section(res: Any) -> str:
    series: dict[tuple, list] = {}
    for p in res.perf:
        series.setdefault((p.model, p.protocol, p.shared_memory), []).append(p)
    if len(series) <= 2:
        return ""
    rows = []
    for (model, proto, shm), pts in series.items():
        c1 = next((p for p in pts if p.concurrency == 1), pts[0])
        best = max(pts, key=lambda p: p.throughput)
        rows.append((model, proto, shm, c1.p50_ms, best.throughput, best.concurrency, best.p99_ms))
    return ("## Every model measured directly (perf_analyzer)\n\n"
            + table(("model", "protocol", "shared memory", "p50 at c=1", "best infer/s", "at c", "p99 there"), rows))


def baselines_section(res: Any, gain: Optional[float]) -> str:
    floor = [(f.batch, f.processes, f.throughput, f.p50_ms or "-", f.p99_ms or "-")
             for f in res.floor + ([res.floor_multi] if res.floor_multi else [])]
    text = ("## Baselines\n\n### 1. In-process floor (same preprocessing + ONNX Runtime, no server)\n\n"
            + table(("batch", "processes", "items/s", "p50 per call", "p99 per call"), floor))
    lg = sorted(res.loadgen, key=lambda r: (r.concurrency, r.system))
    text += ("\n\n### 2. FastAPI (uvicorn, one worker per core) + PyTorch eager vs Triton, same load generator\n\n"
             + table(("system", "concurrency", "req/s", "p50", "p90", "p99", "errors"),
                     [(r.system, r.concurrency, r.throughput, r.p50_ms, r.p90_ms, r.p99_ms, r.errors) for r in lg]))
    main = {p.concurrency: p for p in res.perf if p.model == ENSEMBLE and p.protocol == "grpc" and p.shared_memory == "none"}
    if res.perf_flip and res.flip_batches is not None:
        on, off = ("flipped", "tuned") if res.flip_batches else ("tuned", "flipped")
        text += (f"\n\n### 3. This project with and without dynamic batching (ensemble, gRPC)\n\nThe tuned policy "
                 f"({off if res.flip_batches else on}) and the same policy with dynamic batching "
                 f"{'on for the encoders and fusion' if res.flip_batches else 'off everywhere'} ({'flipped'}).\n\n")
        rows = [(p.concurrency, "on" if res.flip_batches else "off", p.throughput, p.p50_ms, p.p99_ms,
                 main[p.concurrency].throughput if p.concurrency in main else "-") for p in res.perf_flip]
        text += table(("concurrency", "flipped: batching", "infer/s", "p50", "p99", "tuned infer/s"), rows)
        if gain is not None:
            text += f"\n\nBest throughput with / without dynamic batching: **{gain:.2f}x**."
    return text


def rounds_section(res: Any) -> str:
    if not res.rounds:
        return ""
    rows = [(r.index, r.floor_b1_p50_ms, r.ensemble_c1_p50_ms, r.added_latency_ms, r.floor_multi, r.ensemble_best,
             r.ensemble_best_c, r.floor_ratio, r.triton_c8, r.fastapi_c8, r.fastapi_ratio, r.triton_c8_p99_ms,
             r.fastapi_c8_p99_ms) for r in res.rounds]
    intro = ("## Paired rounds behind the goal ratios\n\nThis host's speed drifts over minutes, so each ratio's two "
             "terms are measured back to back in every round (`benchmarks/mmtriton_bench/paired.py`); the goals use the median "
             "round. Ensemble = perf_analyzer gRPC; c=8 = the shared load generator.\n\n")
    return intro + table(("round", "floor b1 p50", "ensemble c=1 p50", "added ms", "floor N-proc/s", "ensemble/s",
                          "at c", "ratio", "Triton c=8/s", "FastAPI c=8/s", "ratio", "Triton p99", "FastAPI p99"), rows)


def preproc_section(res: Any) -> str:
    rows = [(task, path, v) for task, d in res.preproc.items() for path, v in d.items()]
    return ("## Preprocessing per core (one process, every thread pool at 1 thread)\n\n"
            + table(("task", "path", "per second"), rows)) if rows else ""


def tuning_section(res: Any) -> str:
    if not res.trials:
        return ("## Serving policy\n\nNot tuned in this run (quick plan or external server); the spec's "
                "defaults (`mmtriton/spec/serving_defaults.json`) were used.\n\n" + _policy(res))
    rows = [(t.stage, t.candidate, t.throughput, t.p50_ms, t.p99_ms, "yes" if t.chosen else "") for t in res.trials]
    return ("## Tuning sweep (ensemble, gRPC, perf_analyzer)\n\nCoordinate descent; a candidate wins only if it "
            "beats the incumbent's throughput by more than 3 % with a p99 no more than 3 % worse. The winners are "
            f"a proposal, written to `{res.plan.name}/policy.json` beside this report; `mmtriton apply-policy "
            f"{res.plan.out_dir / res.plan.name / 'policy.json'}` makes them the spec's defaults and regenerates the "
            "committed configs.\n\n"
            + table(("stage", "candidate", "infer/s", "p50", "p99", "new best"), rows) + "\n\nResulting policy:\n\n"
            + _policy(res))


def _policy(res: Any) -> str:
    rows = [(n, "yes" if b.dynamic else "no", list(b.preferred_batch_sizes) if b.dynamic else "-",
             b.max_queue_delay_us if b.dynamic else "-", b.instances) for n, b in sorted(res.policy.items())]
    return table(("model", "dynamic batching", "preferred sizes", "max queue delay (us)", "instances"), rows)


def notes_section(res: Any) -> str:
    notes = ["Threads: every ONNX Runtime session has 1 intra-op thread per instance (config parameter "
             "`intra_op_threads`); the launcher sets `OMP_NUM_THREADS=1` for the server and its Python stubs unless "
             "the environment sets it. Instances, not threads, scale across cores."] + res.notes
    return "## Notes\n\n" + "\n".join(f"- {n}" for n in notes)
