"""Triton variants for a benchmark: write a repository for a serving policy, serve it on free
ports, or check that an external server (``--url``) is reachable."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

from mmtriton.errors import BenchError
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import BatchingSpec


def flip_batching(graph: ModelGraph) -> tuple[dict[str, BatchingSpec], bool]:
    """Baseline 3: the same policy with dynamic batching flipped. If any encoder or the fusion
    model batches, every batcher goes off; otherwise the encoders and fusion get it on (with the
    preferred sizes and delay kept in the spec; preprocessing models cannot batch on 2.51, see
    model_repository/README.md). Instances are unchanged. Returns (policy, batches)."""
    import dataclasses

    batchable = graph.exported
    batches = not any(m.batching.dynamic for m in batchable)
    if batches:
        return {m.name: dataclasses.replace(m.batching, dynamic=True) for m in batchable}, True
    return {m.name: dataclasses.replace(m.batching, dynamic=False) for m in graph.models}, False


def write_variant(graph: ModelGraph, out: Path, onnx_dir: Path, buckets: Optional[bool] = None) -> Path:
    """An embedded-target repository for ``graph``'s serving policy (configs + models + tokenizer);
    ``buckets`` forces length buckets on or off (``repository.config.bucketed``)."""
    import shutil

    from mmtriton.repository.config import Target
    from mmtriton.repository.writer import write_repository
    from mmtriton.resources import default_text_model

    shutil.rmtree(out, ignore_errors=True)
    return write_repository(graph, Target.EMBEDDED, out, onnx_dir, Path(default_text_model()) / "tokenizer.json",
                            buckets)


@contextlib.contextmanager
def serving(repository: Path, work_dir: Path) -> Iterator[tuple[str, str]]:
    """Start the embedded Triton on free ports; yields (grpc_url, http_url)."""
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig, free_port

    cfg = ServerConfig(repository, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       work_dir=work_dir, log_file=work_dir / f"server-{repository.name}.log")
    with EmbeddedServer(cfg):
        yield cfg.grpc_url, cfg.http_url


def check_reachable(http_url: str, model: str) -> None:
    """A clear error before any measurement when the server or the model is not there."""
    target = f"http://{http_url}/v2/models/{model}/ready"
    try:
        with urllib.request.urlopen(target, timeout=5) as r:
            if r.status == 200:
                return
    except urllib.error.HTTPError as e:
        raise BenchError(f"Triton at {http_url} answers but model {model!r} is not ready (HTTP {e.code})") from e
    except (urllib.error.URLError, OSError) as e:
        raise BenchError(f"no Triton server reachable at {http_url} ({e}); start one with `make serve` "
                         "or leave out --url to let the benchmark start its own") from e
    raise BenchError(f"Triton at {http_url}: model {model!r} is not ready")
