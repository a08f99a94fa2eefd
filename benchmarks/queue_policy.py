"""What Triton's queue policy costs after a batching step (embedded 2.51 server, 2-core CPU).

A queue policy (timeout, REJECT) turns off the dynamic batcher's prefetching; the batcher then
learns that its instance went idle only from a new arrival or a 500 ms poll. This script serves
the test session's repository (encoders and fusion batching dynamically) in three variants and
drives each with rounds of 72 requests (three modality subsets, 36 in flight):

- ``generated``: what ``mmtriton repo`` writes: no policy on postprocess, which follows the
  batching fusion (see ``mmtriton/repository/config.py``);
- ``policy-after-batcher``: postprocess with the queue policy and preferred size 1 (what the
  generator wrote before);
- ``no-policy``: no queue policy on any model.

Usage: .venv/bin/python benchmarks/queue_policy.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpc
from tritonclient.utils import InferenceServerException

from mmtriton.data.generate import read_manifest
from mmtriton.paths import Artifacts
from mmtriton.repository.config import Target, render
from mmtriton.repository.structure import parse_config
from mmtriton.repository.writer import write_repository
from mmtriton.resources import default_text_model
from mmtriton.data.payloads import payload
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.requests import ensemble_inputs
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton.spec import get_graph

SUBSETS = (("image",), ("audio", "text"), ("image", "audio", "text"))
VARIANTS = ("generated", "policy-after-batcher", "no-policy")


def batching_graph():
    """The session repository's policy: encoders and fusion batch dynamically."""
    graph = get_graph("demo")
    return graph.with_batching({m.name: dataclasses.replace(m.batching, dynamic=True)
                                for m in graph.encoders + (graph.fusion,)})


def edit_configs(repo: Path, variant: str, graph) -> None:
    """Turn the generated repository into ``variant`` by editing the parsed configs."""
    if variant == "generated":
        return
    fusion = parse_config(repo / graph.fusion.name / "config.pbtxt").dynamic_batching.default_queue_policy
    for model in graph.models:
        path = repo / model.name / "config.pbtxt"
        cfg = parse_config(path)
        if variant == "no-policy" and cfg.HasField("dynamic_batching"):
            cfg.dynamic_batching.ClearField("default_queue_policy")
        if variant == "policy-after-batcher" and model is graph.postprocess:
            cfg.dynamic_batching.preferred_batch_size[:] = [1]
            cfg.dynamic_batching.default_queue_policy.CopyFrom(fusion)
        path.write_text(render(cfg))


def drive(url: str, graph, seconds: float) -> dict:
    """Rounds of 72 requests, 36 in flight, until ``seconds`` have passed."""
    art = Artifacts.default()
    manifest = art.manifest("test")
    folder, samples = manifest.with_suffix(""), read_manifest(manifest)
    pools = [[s for s in samples if all(getattr(s, m) for m in sub)][:24] for sub in SUBSETS]
    client = grpc.InferenceServerClient(url)
    latencies, rounds, rejected = [], [], 0

    def one(i: int):
        sub, pool = SUBSETS[i % 3], pools[i % 3]
        inputs = ensemble_inputs(grpc, graph, **payload(folder, pool[(i // 3) % len(pool)], sub))
        start = time.perf_counter()
        try:
            client.infer(graph.ensemble.name, inputs, client_timeout=60)
            return time.perf_counter() - start
        except InferenceServerException:
            return None

    end = time.time() + seconds
    with ThreadPoolExecutor(36) as pool:
        while time.time() < end:
            start = time.perf_counter()
            results = list(pool.map(one, range(72)))
            rounds.append(time.perf_counter() - start)
            latencies += [r for r in results if r is not None]
            rejected += sum(r is None for r in results)
    client.close()
    return {"requests": len(latencies) + rejected, "rejected": rejected, "rounds": len(rounds),
            "round_p50_s": float(np.median(rounds)), "round_max_s": max(rounds),
            "p99_ms": float(np.percentile(latencies, 99) * 1000) if latencies else float("nan")}


def run_variant(variant: str, seconds: float, work: Path) -> dict:
    graph = batching_graph()
    art = Artifacts.default()
    repo = write_repository(graph, Target.EMBEDDED, work / variant, art.onnx("demo"),
                            Path(default_text_model()) / "tokenizer.json")
    edit_configs(repo, variant, graph)
    cfg = ServerConfig(repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       exit_timeout_s=5, work_dir=work / f"{variant}-server", admin_key=secrets.token_urlsafe(16))
    with EmbeddedServer(cfg).start(timeout_s=180):
        drive(cfg.grpc_url, graph, 5)  # warm-up: first executions of each instance are slow
        return drive(cfg.grpc_url, graph, seconds)


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in VARIANTS:
            rows.append((variant, run_variant(variant, args.seconds, Path(tmp))))
    print(f"\n{args.seconds:.0f} s per variant, rounds of 72 requests, 36 in flight\n")
    print("| variant | requests | rejected | rounds | round p50 s | round max s | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['requests']} | {r['rejected']} | {r['rounds']} | {r['round_p50_s']:.2f} | "
              f"{r['round_max_s']:.2f} | {r['p99_ms']:.0f} |")


if __name__ == "__main__":
    main()
