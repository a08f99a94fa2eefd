"""What asking only for the label saves: bytes on the wire and latency, label-only vs full.

Starts the embedded server on free ports over ``model_repository/``, sends the same held-out
samples (all three modalities) one at a time over gRPC (tritonclient), HTTP with binary
outputs and HTTP with JSON outputs (a plain KServe v2 client: the body tritonclient would send,
posted with http.client), alternating label-only and full requests so both see the same host
state. Bytes: the HTTP response body, and the gRPC response message (serialised protobuf, before
HTTP/2 framing). Every step of the ensemble runs either way (the last one publishes the
outputs); the saving is in encoding and transfer.

Usage: .venv/bin/python benchmarks/requested_outputs.py [--requests 200] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import http.client as httplib
import json
import time
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpc
import tritonclient.http as http

from mmtriton_bench.identity import cpu_label
from mmtriton_bench.markdown import table

from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.paths import Artifacts
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.requests import ensemble_inputs
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton.spec import get_graph

PROTOCOLS = ("grpc", "http-binary", "http-json")


def _grpc_once(client, graph, data: dict, outputs) -> tuple[float, int]:
    inputs = ensemble_inputs(grpc, graph, **data)
    t0 = time.perf_counter()
    result = client.infer(graph.ensemble.name, inputs, outputs=outputs)
    return (time.perf_counter() - t0) * 1000, result.get_response().ByteSize()


def _http_once(conn: httplib.HTTPConnection, graph, data: dict, names, binary: bool) -> tuple[float, int]:
    inputs = ensemble_inputs(http, graph, **data)
    outputs = [http.InferRequestedOutput(n, binary_data=binary) for n in names]
    body, header_length = http.InferenceServerClient.generate_request_body(inputs, outputs)
    headers = {"Content-Type": "application/octet-stream"}
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    t0 = time.perf_counter()
    conn.request("POST", f"/v2/models/{graph.ensemble.name}/infer", body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {raw[:300]!r}")
    return elapsed, len(raw)


def measure(cfg: ServerConfig, graph, items: list[dict]) -> dict:
    every = [t.name for t in graph.ensemble.outputs]
    modes = {"label only": [graph.label.name], "all outputs": every}
    samples: dict = {(p, m): ([], []) for p in PROTOCOLS for m in modes}
    client = grpc.InferenceServerClient(cfg.grpc_url)
    conn = httplib.HTTPConnection(cfg.host, cfg.http_port, timeout=60)
    try:
        for data in items:
            for mode, names in modes.items():
                requested = [grpc.InferRequestedOutput(n) for n in names]
                for protocol in PROTOCOLS:
                    ms, size = (_grpc_once(client, graph, data, requested) if protocol == "grpc" else
                                _http_once(conn, graph, data, names, protocol == "http-binary"))
                    samples[(protocol, mode)][0].append(ms)
                    samples[(protocol, mode)][1].append(size)
    finally:
        client.close()
        conn.close()
    return {f"{p} / {m}": {"p50_ms": round(float(np.percentile(lat, 50)), 2),
                           "p90_ms": round(float(np.percentile(lat, 90)), 2),
                           "response_bytes": int(np.median(size))}
            for (p, m), (lat, size) in samples.items()}


def markdown(rows: dict, n: int, command: str) -> str:
    lines = ["# Label-only vs full requests (embedded Triton 2.51, CPU)", "",
             f"`{command}` on {cpu_label()}; Triton 2.51.0 embedded, model_repository as committed; "
             f"{n} held-out samples with image + audio + text, one request at a time (concurrency 1), "
             "label-only and full requests alternating.", "",
             table(("protocol / outputs", "response bytes", "p50 ms", "p90 ms"),
                   [(k, f"{v['response_bytes']:,}", v["p50_ms"], v["p90_ms"]) for k, v in rows.items()]),
             "", "Bytes: HTTP response body; gRPC response message (serialised protobuf, before HTTP/2 framing)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--out", type=Path, default=None, help="folder for requested_outputs.md (default: artifacts/reports)")
    args = parser.parse_args()
    art, graph = Artifacts.default(), get_graph(args.preset)
    folder = art.manifest("test").with_suffix("")
    rows = [s for s in read_manifest(art.manifest("test")) if s.image and s.audio and s.text][: args.requests]
    items = [payload(folder, s) for s in rows]
    cfg = ServerConfig(Path("model_repository"), http_port=free_port(), grpc_port=free_port(),
                       metrics_port=free_port(), work_dir=art.root / "triton")
    with EmbeddedServer(cfg):
        measure(cfg, graph, items[:10])  # warm-up
        result = measure(cfg, graph, items)
    print(json.dumps({"requests": len(items), "concurrency": 1, "results": result}, indent=2))
    out = args.out or art.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    command = f"python benchmarks/requested_outputs.py --requests {args.requests}"
    (out / "requested_outputs.md").write_text(markdown(result, len(items), command))


if __name__ == "__main__":
    main()
