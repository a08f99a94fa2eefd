"""Cost of the missing-modality mechanism on the embedded Triton (2-core CPU figures).

Starts the embedded server on free ports, sends held-out samples one at a time (concurrency 1)
for every modality subset, and prints per-subset latency plus each preprocessing model's
``compute_input`` time from Triton's statistics: the price of handing every raw input to every
preprocessing model. Usage: .venv/bin/python benchmarks/missing_modalities.py [--requests 100]
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpc

from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.paths import Artifacts
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.requests import ensemble_inputs
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton.spec import SUBSETS
from mmtriton.spec import get_graph


def stats(http_url: str) -> dict[str, dict]:
    with urllib.request.urlopen(f"http://{http_url}/v2/models/stats") as r:
        return {m["name"]: m for m in json.load(r)["model_stats"]}


def per_request_us(before: dict, after: dict, model: str, field: str) -> float:
    a, b = after[model]["inference_stats"][field], before[model]["inference_stats"][field]
    n = int(after[model]["inference_count"]) - int(before[model]["inference_count"])
    return (int(a["ns"]) - int(b["ns"])) / 1000 / max(1, n)


def measure(client, graph, folder: Path, samples, subset, http_url: str) -> dict:
    before = stats(http_url)
    latencies = []
    for s in samples:
        inputs = ensemble_inputs(grpc, graph, **payload(folder, s, subset))
        t0 = time.perf_counter()
        client.infer(graph.ensemble.name, inputs)
        latencies.append((time.perf_counter() - t0) * 1000)
    after = stats(http_url)
    pre = {m.name: round(per_request_us(before, after, m.name, "compute_input"), 1)
           for m in (graph.image_preprocess, graph.audio_preprocess, graph.text_preprocess)}
    return {"p50_ms": round(float(np.percentile(latencies, 50)), 2), "p90_ms": round(float(np.percentile(latencies, 90)), 2),
            "compute_input_us": pre}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--preset", default="demo")
    args = parser.parse_args()
    art, graph = Artifacts.default(), get_graph(args.preset)
    samples = [s for s in read_manifest(art.manifest("test")) if s.image and s.audio and s.text][: args.requests]
    folder = art.manifest("test").with_suffix("")
    cfg = ServerConfig(Path("model_repository"), http_port=free_port(), grpc_port=free_port(),
                       metrics_port=free_port(), work_dir=art.root / "triton")
    with EmbeddedServer(cfg):
        client = grpc.InferenceServerClient(cfg.grpc_url)
        measure(client, graph, folder, samples[:10], SUBSETS[0], cfg.http_url)  # warm-up
        rows = {"+".join(sub): measure(client, graph, folder, samples, sub, cfg.http_url) for sub in SUBSETS}
        client.close()
    print(json.dumps({"requests_per_subset": len(samples), "concurrency": 1, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
