"""``make demo``'s serving part: start the embedded Triton, send held-out samples over gRPC and
HTTP with the official tritonclient, print each prediction with its latency, stop."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from mmtriton.data.generate import Sample, read_manifest
from mmtriton.errors import ServerError
from mmtriton.paths import Artifacts
from mmtriton.serving.check import payload
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ServerConfig, admin_key, free_port
from mmtriton.spec import get_graph

SUBSETS = (("image", "audio", "text"), ("image",), ("audio",), ("text",), ("image", "audio"), ("audio", "text"))


def _usable(sample: Sample, subset: tuple[str, ...]) -> bool:
    states = {"image": sample.image_state == "clean", "audio": sample.audio_state == "clean",
              "text": sample.text_state == "informative"}
    return all(states[m] for m in subset)


def demo_samples(manifest: Path) -> list[tuple[Sample, tuple[str, ...]]]:
    """One held-out sample per modality subset, whose sent modalities are clean (digits vary)."""
    rows = read_manifest(manifest)
    return [(next(s for s in rows[i:] + rows[:i] if _usable(s, subset)), subset)
            for i, subset in zip(range(0, 10 * len(SUBSETS), 11), SUBSETS)]


def run_demo_requests(art: Artifacts, preset: str, repository: Path, console: Console) -> None:
    """Start the server, predict held-out samples through the client SDK over both protocols, stop."""
    from mmtriton_client import Client, ClientError

    graph = get_graph(preset)
    folder = art.manifest("test").with_suffix("")
    cfg = ServerConfig(repository, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       work_dir=art.root / "triton", admin_key=admin_key(art.root / "triton"))
    table = Table("protocol", "sent", "truth", "predicted", "p(max)", "latency ms",
                  title="embedded Triton via mmtriton-client, held-out samples")
    with EmbeddedServer(cfg) as server:
        for name, protocol, url in (("gRPC", "grpc", cfg.grpc_url), ("HTTP", "http", cfg.http_url)):
            with Client(url, protocol=protocol, timeout=30) as client:
                for sample, subset in demo_samples(art.manifest("test")):
                    try:
                        p = client.predict(**payload(folder, sample, subset))
                    except ClientError as e:
                        raise ServerError(f"{name} request failed: {e}\n{server.log_tail()}") from e
                    table.add_row(name, "+".join(subset), graph.class_names[sample.label], p.label,
                                  f"{p.confidence:.3f}", f"{p.latency_ms:.1f}")
    console.print(table)
