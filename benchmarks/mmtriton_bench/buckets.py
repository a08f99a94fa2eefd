"""Length buckets on the embedded server: do the audio and text encoders batch requests of
different lengths when they cannot take a ragged batch (as TensorRT engines cannot)?

The repository is the embedded one (ONNX Runtime inside the Python backend) with the tensorrt
target's serving policy (encoders batch dynamically) and length buckets forced on, so its
encoders batch exactly as the engines would: equal shapes only, and Triton's batcher ends a
batch at the first queued request of another shape. The same held-out items go through the SDK
twice: encoded bytes (the server's preprocessing pads to the buckets) and client-side tensors
(``preprocess="client"``, every request at its own length: what a deployment without buckets
sends its engines). Triton's own statistics count inferences and executions per model.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from mmtriton.errors import BenchError
from mmtriton.paths import Artifacts
from mmtriton.spec.graph import ModelGraph

MODES = {"server": "bytes, server preprocessing in length buckets",
         "client": "client tensors, each at its own length (no buckets)"}


@dataclass(frozen=True)
class Counts:
    """One model's inferences (requests' rows) and executions (batches run) during a run."""

    model: str
    inferences: int
    executions: int

    @property
    def mean_batch(self) -> float:
        return self.inferences / self.executions if self.executions else 0.0


def bucket_repository(art: Artifacts, graph: ModelGraph, out: Path) -> Path:
    """The embedded repository with the engines' serving policy and length buckets on."""
    from mmtriton_bench.servers import write_variant

    return write_variant(graph.for_target("tensorrt"), out, art.onnx(graph.preset.name), buckets=True)


def held_out_items(art: Artifacts, count: int) -> list[dict]:
    """Test-split samples that carry all three modalities, at their natural (mixed) lengths."""
    from mmtriton.data.generate import read_manifest
    from mmtriton.data.payloads import payload

    manifest = art.manifest("test")
    samples = [s for s in read_manifest(manifest) if s.image and s.audio and s.text][:count]
    if len(samples) < count:
        raise BenchError(f"{manifest} has {len(samples)} complete samples, {count} wanted: run `make demo` first")
    return [payload(manifest.with_suffix(""), s) for s in samples]


def model_stats(http_url: str, headers: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(inference_count, execution_count) per model, from Triton's statistics extension."""
    request = urllib.request.Request(f"http://{http_url}/v2/models/stats", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as r:
        return {m["name"]: (int(m.get("inference_count", 0)), int(m.get("execution_count", 0)))
                for m in json.load(r)["model_stats"]}


def run_mode(grpc_url: str, http_url: str, headers: dict[str, str], graph: ModelGraph, items: Sequence[dict],
             mode: str, concurrency: int) -> dict[str, Counts]:
    """Send ``items`` at ``concurrency`` in flight; the encoders' counts over exactly that run."""
    from mmtriton_client import Client

    before = model_stats(http_url, headers)
    with Client(grpc_url, preprocess=mode, timeout=120.0) as client:
        results = client.predict_batch(items, max_in_flight=concurrency)
    failed = [r.error for r in results if r.error is not None]
    if failed:
        raise BenchError(f"{len(failed)} of {len(items)} requests failed ({mode} mode), first: {failed[0]}")
    after = model_stats(http_url, headers)
    return {m.name: Counts(m.name, after[m.name][0] - before[m.name][0], after[m.name][1] - before[m.name][1])
            for m in graph.encoders}


def shapes(graph: ModelGraph, items: Sequence[dict]) -> dict[str, dict[str, int]]:
    """How many items fall in each audio and text bucket, and how many distinct own lengths."""
    from mmtriton.preprocess import Preprocessor

    pre = Preprocessor(graph)
    frames = [pre.audio(item["audio"]).shape[0] for item in items]
    tokens = [int(pre.text([item["text"]])[1].sum()) for item in items]
    out = {}
    for name, dim, lengths in (("audio frames", graph.frames, frames), ("text tokens", graph.tokens, tokens)):
        per_bucket = {f"<= {b}": sum(dim.bucket(n) == b for n in lengths) for b in dim.buckets}
        out[name] = {"distinct own lengths": len(set(lengths)), **per_bucket}
    return out


def table(runs: dict[str, dict[str, Counts]]) -> Iterator[str]:
    yield "| requests | model | inferences | executions | mean batch |"
    yield "|---|---|---:|---:|---:|"
    for mode, counts in runs.items():
        for c in counts.values():
            yield f"| {MODES[mode]} | {c.model} | {c.inferences} | {c.executions} | {c.mean_batch:.2f} |"


def measure(art: Artifacts, graph: ModelGraph, work: Path, count: int, concurrency: int) -> dict:
    """Start the bucketed repository on free loopback ports, warm up, run both modes, stop."""
    from mmtriton_bench.servers import serving

    items = held_out_items(art, count)
    repo = bucket_repository(art, graph, work / "repository")
    (work / "triton").mkdir(parents=True, exist_ok=True)
    with serving(repo, work / "triton") as (grpc_url, http_url):
        urls = (grpc_url, http_url, {})  # the harness's private server: statistics need no key
        run_mode(*urls, graph, items[:concurrency], "server", concurrency)  # load every stub's sessions
        runs = {mode: run_mode(*urls, graph, items, mode, concurrency) for mode in MODES}
    return {"items": count, "concurrency": concurrency, "shapes": shapes(graph, items), "runs": runs}


def write_report(result: dict, command: str, out: Path) -> Path:
    """``<out>/buckets.md``: the counts of both modes and the items' length distribution."""
    lines = ["# Length buckets on the embedded server — 2-core CPU, ONNX Runtime in the Python backend", "",
             f"Produced by `{command}`: {result['items']} held-out items (image + audio + text, natural lengths), "
             f"{result['concurrency']} in flight through the SDK (gRPC). Encoders batch as TensorRT engines do: "
             "the tensorrt serving policy, no ragged batches, length buckets on. Counts are Triton's statistics "
             "over each run.", "", *table(result["runs"]), "", "## Lengths of the items", "",
             "| axis | distinct own lengths | per bucket |", "|---|---:|---|"]
    for axis, counts in result["shapes"].items():
        buckets = ", ".join(f"{k}: {v}" for k, v in counts.items() if k.startswith("<="))
        lines.append(f"| {axis} | {counts['distinct own lengths']} | {buckets} |")
    path = out / "buckets.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
