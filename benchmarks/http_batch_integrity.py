"""Do concurrent HTTP requests reach Triton intact? Counts the requests the server refuses while
the same held-out samples go out with 32 in flight, through three transports:

- ``sdk``: ``mmtriton_client.Client(protocol="http").predict_batch`` (one tritonclient.http
  client, its connections driven by greenlets in the calling thread);
- ``threads``: one tritonclient.http client per worker thread, each thread encoding its own
  inputs, the clients closed by the main thread at the end (what ``predict_batch`` did before:
  in the test session's repository about one request in 10^4 came back "failed to parse the
  request JSON buffer");
- ``stdlib``: the same KServe binary-extension requests through ``http.client`` in worker threads,
  each thread encoding its own inputs as in ``threads`` (no gevent): whether the server itself
  mixes requests up.

Every request is valid, so every refusal is a transport fault. Rounds of 192 requests (64 samples
as image+audio+text, image alone, audio+text). Usage:
  .venv/bin/python benchmarks/http_batch_integrity.py [--rounds 100] [--transports sdk,threads,stdlib]
(prints JSON; about 2 s per round on 2 cores; uses artifacts/ and model_repository/ of make demo)
"""

from __future__ import annotations

import argparse
import http.client
import json
import struct
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from mmtriton.data.generate import read_manifest
from mmtriton.paths import Artifacts
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton_client import Client
from mmtriton_client.model_info import MODALITIES
from mmtriton_client.request import encode

IN_FLIGHT = 32


def batch_items(art: Artifacts, samples: int = 64) -> list[dict]:
    folder = art.manifest("test").with_suffix("")
    rows = [s for s in read_manifest(art.manifest("test")) if s.image_state == "clean"
            and s.audio_state == "clean" and s.text_state == "informative"][:samples]
    items = []
    for s in rows:
        full = {"image": str(folder / s.image), "audio": str(folder / s.audio), "text": s.text}
        items += [full, {"image": full["image"]}, {"audio": full["audio"], "text": full["text"]}]
    return items


def via_sdk(url: str, items: list[dict]) -> list[str]:
    with Client(url, protocol="http") as client:
        return [str(r.error) for r in client.predict_batch(items, max_in_flight=IN_FLIGHT) if not r.ok]


def via_threads(url: str, items: list[dict]) -> list[str]:
    """The former transport, rebuilt from tritonclient alone."""
    import tritonclient.http as th

    with Client(url, protocol="http") as sdk:
        builder, model = sdk.builder, sdk.model
    local, clients, lock = threading.local(), [], threading.Lock()

    def one(item: dict) -> str:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = th.InferenceServerClient(url, network_timeout=60, connection_timeout=60)
            with lock:
                clients.append(client)
        try:
            client.infer(model, builder.inputs(th, builder.payload(encode(**item))))
            return ""
        except Exception as e:  # noqa: BLE001 - counted, not raised
            return str(e)

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        errors = [e for e in pool.map(one, items) if e]
    for client in clients:
        client.close()
    return errors


def kserve_body(names: dict, data: dict) -> tuple[bytes, int]:
    """KServe v2 JSON header + binary tensors: each BYTES element is a 4-byte length + bytes."""
    inputs, blobs = [], []
    for modality in MODALITIES:
        if data[modality] is not None:
            blob = struct.pack("<I", len(data[modality])) + data[modality]
            inputs.append({"name": names[modality], "shape": [1, 1], "datatype": "BYTES",
                           "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
    header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
    return header + b"".join(blobs), len(header)


def via_stdlib(url: str, items: list[dict]) -> list[str]:
    """Like ``via_threads`` (each thread encodes its own inputs), without gevent."""
    with Client(url, protocol="http") as sdk:
        names, builder, path = sdk.info.inputs, sdk.builder, f"/v2/models/{sdk.model}/infer"
    host, port = url.rsplit(":", 1)
    local, conns, lock = threading.local(), [], threading.Lock()

    def one(item: dict) -> str:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, int(port), timeout=60)
            with lock:
                conns.append(conn)
        body, header_length = kserve_body(names, builder.payload(encode(**item)))
        conn.request("POST", path, body=body, headers={"Inference-Header-Content-Length": str(header_length)})
        response = conn.getresponse()
        answer = response.read()
        return "" if response.status == 200 else answer[:200].decode(errors="replace")

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        errors = [e for e in pool.map(one, items) if e]
    for conn in conns:
        conn.close()
    return errors


TRANSPORTS: dict[str, Callable[[str, list[dict]], list[str]]] = {
    "sdk": via_sdk, "threads": via_threads, "stdlib": via_stdlib}


def measure(url: str, items: list[dict], transport: str, rounds: int) -> dict:
    errors: Counter = Counter()
    t0 = time.perf_counter()
    for _ in range(rounds):
        errors.update(TRANSPORTS[transport](url, items))
    wall = time.perf_counter() - t0
    return {"requests": rounds * len(items), "refused": sum(errors.values()),
            "errors": dict(errors.most_common(5)), "requests_per_s": round(rounds * len(items) / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--transports", default="sdk,threads,stdlib")
    args = parser.parse_args()
    art = Artifacts.default()
    items = batch_items(art)
    cfg = ServerConfig(Path("model_repository"), http_port=free_port(), grpc_port=free_port(),
                       metrics_port=free_port(), work_dir=art.root / "triton")
    with EmbeddedServer(cfg):
        report = {t: measure(cfg.http_url, items, t, args.rounds) for t in args.transports.split(",")}
    print(json.dumps({"in_flight": IN_FLIGHT, "rounds": args.rounds, "per_transport": report}, indent=2))


if __name__ == "__main__":
    main()
