"""``make demo``'s serving part: start the embedded Triton, send held-out samples (one per modality
subset) over gRPC and HTTP through the client SDK's CLI, print each prediction with its latency,
stop."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mmtriton.data.generate import Sample, read_manifest
from mmtriton.errors import ServerError
from mmtriton.paths import Artifacts
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ServerConfig, admin_key, free_port
from mmtriton.spec import SUBSETS, ModelGraph


def _usable(sample: Sample, subset: tuple[str, ...]) -> bool:
    states = {"image": sample.image_state == "clean", "audio": sample.audio_state == "clean",
              "text": sample.text_state == "informative"}
    return all(states[m] for m in subset)


def demo_samples(manifest: Path) -> list[tuple[Sample, tuple[str, ...]]]:
    """One held-out sample per modality subset, whose sent modalities are clean (classes vary);
    a subset no row can fill (a data set without audio, say) is left out."""
    rows = read_manifest(manifest)
    picked = []
    for i, subset in zip(range(0, 11 * len(SUBSETS), 11), SUBSETS):
        start = i % len(rows) if rows else 0
        found = next((s for s in rows[start:] + rows[:start] if _usable(s, subset)), None)
        if found is not None:
            picked.append((found, subset))
    return picked


def write_demo_manifest(art: Artifacts, out: Path) -> list[tuple[Sample, tuple[str, ...]]]:
    """The demo's requests as the client CLI's JSONL manifest (absolute paths); the rows in order."""
    folder, rows = art.manifest("test").with_suffix(""), demo_samples(art.manifest("test"))
    with out.open("w") as f:
        for i, (sample, subset) in enumerate(rows):
            row = {m: str((folder / getattr(sample, m)).resolve()) for m in ("image", "audio")
                   if m in subset and getattr(sample, m)}
            if "text" in subset and sample.text:
                row["text"] = sample.text
            f.write(json.dumps({"id": str(i), **row}) + "\n")
    return rows


def client_predictions(url: str, protocol: str, manifest: Path) -> list[dict]:
    """Every manifest row through ``mmtriton-client predict --manifest --json``: the SDK exactly as
    a user runs it, in its own process (the core package never imports the SDK)."""
    if importlib.util.find_spec("mmtriton_client") is None:
        raise ServerError("the client SDK is not installed: `pip install ./client` (make setup does)")
    cmd = [sys.executable, "-m", "mmtriton_client.cli", "predict", "--url", url, "--protocol", protocol,
           "--manifest", str(manifest), "--json", "--concurrency", "1"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        raise ServerError(f"{protocol} requests did not finish within {e.timeout:.0f} s") from e
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    failed = [r for r in lines if "error" in r]
    if proc.returncode != 0 or failed:
        raise ServerError(f"{protocol} requests failed ({proc.returncode}): {failed[:2] or proc.stderr[-500:]}")
    return lines


def run_demo_requests(art: Artifacts, graph: ModelGraph, repository: Path, console: Console) -> None:
    """Start the server, predict held-out samples through the client SDK over both protocols, stop
    (``graph``: the trained model's, whose class names label the truth column)."""
    cfg = ServerConfig(repository, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       work_dir=art.triton, admin_key=admin_key(art.triton))
    table = Table("protocol", "sent", "truth", "predicted", "p(max)", "latency ms",
                  title="embedded Triton via mmtriton-client, held-out samples")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(cfg) as server:
        manifest = Path(tmp) / "demo.jsonl"
        rows = write_demo_manifest(art, manifest)
        for name, protocol, url in (("gRPC", "grpc", cfg.grpc_url), ("HTTP", "http", cfg.http_url)):
            try:
                predictions = client_predictions(url, protocol, manifest)
            except ServerError as e:
                raise ServerError(f"{e}\n{server.log_tail()}") from e
            for (sample, subset), p in zip(rows, predictions):
                table.add_row(name, "+".join(subset), graph.class_names[sample.label], p["label"],
                              f"{p['confidence']:.3f}", f"{p['latency_ms']:.1f}")
    console.print(table)
