"""A CPU-bound burst against the committed serving policy: how many requests the queue timeout
refuses, and how long served and refused requests took (embedded 2.51 server).

The integration test (`tests/integration/test_faults.py::test_overload_...`) proves the
mechanism with a test-only model that holds every execution, so its verdict does not depend on
the host. This script measures what the *real* repository does when ``--requests`` concurrent
full (image + audio + text) requests arrive at once: whether any request waits longer than the
queue timeout after preprocessing depends on the host's speed at that minute, which is why it
is a measurement and not a test. (On a 2-core machine: 521/279, 595/205 and 800/0 served/refused
in three runs of 800.)

Usage (after `make demo`): .venv/bin/python benchmarks/overload.py [--requests 800] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import tritonclient.grpc.aio as grpc_aio

from mmtriton_bench.servers import write_variant
from mmtriton.data.generate import read_manifest
from mmtriton.paths import Artifacts
from mmtriton.data.payloads import payload
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.requests import ensemble_inputs
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton.spec import get_graph


async def one(client, graph, inputs: list) -> tuple[str, float, str]:
    """(outcome, seconds, message): outcome is "ok" or the gRPC status of the refusal."""
    t0 = time.monotonic()
    try:
        await client.infer(graph.ensemble.name, inputs, client_timeout=300)
        return "ok", time.monotonic() - t0, ""
    except Exception as e:  # noqa: BLE001 - every outcome is reported
        status = e.status() if hasattr(e, "status") else type(e).__name__
        return status, time.monotonic() - t0, str(e)


async def burst(url: str, graph, payloads: list[dict], n: int) -> list[tuple[str, float, str]]:
    client = grpc_aio.InferenceServerClient(url)
    try:
        return await asyncio.gather(*(one(client, graph, ensemble_inputs(grpc_aio, graph, **payloads[i % len(payloads)]))
                                      for i in range(n)))
    finally:
        await client.close()


def summary(results: list[tuple[str, float, str]]) -> str:
    ok = [t for s, t, _ in results if s == "ok"]
    refused = [t for s, t, _ in results if s != "ok"]
    kinds = sorted({s for s, _, _ in results if s != "ok"})
    timeouts = sum("timeout" in m.lower() for s, _, m in results if s != "ok")

    def stats(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f} s, max {max(xs):.2f} s" if xs else "-"
    return (f"{len(ok)} served ({stats(ok)}), {len(refused)} refused ({stats(refused)}; "
            f"{timeouts} by the queue timeout; statuses {kinds or '-'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    graph, art = get_graph("demo"), Artifacts.default()
    manifest = art.manifest("test")
    samples = [s for s in read_manifest(manifest) if s.image and s.audio and s.text][:20]
    payloads = [payload(manifest.with_suffix(""), s) for s in samples]
    timeout_s = max(m.batching.queue_timeout_us for m in graph.models) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_variant(graph, Path(tmp) / "repo", art.onnx("demo"))
        cfg = ServerConfig(repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                           exit_timeout_s=3, work_dir=Path(tmp) / "work")
        with EmbeddedServer(cfg) as server:
            print(f"committed policy, queue timeout {timeout_s:.1f} s, {args.requests} concurrent full requests")
            for r in range(args.rounds):
                results = asyncio.run(burst(cfg.grpc_url, graph, payloads, args.requests))
                print(f"round {r + 1}: {summary(results)}; server ready: {server.is_ready()}")


if __name__ == "__main__":
    main()
