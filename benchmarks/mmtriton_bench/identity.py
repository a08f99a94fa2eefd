"""What a benchmark report says it measured, read from the server and the machine rather than
assumed: the server's name and version from its own ``/v2`` metadata, the device from
the server's own model configs (TensorRT plans or GPU instances), named by ``nvidia-smi`` where
this machine sees it. A GPU run published by the compose ``bench`` service must not carry the
embedded CPU server's label, nor a CPU run the label of a GPU that merely sits in the machine."""

from __future__ import annotations

import json
import logging
import os
import platform
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    server: str  # e.g. "triton 2.51.0"
    device: str  # e.g. "NVIDIA H200 (compute 9.0)" or "CPU: <model>, 2 cores"
    gpu: bool

    @property
    def label(self) -> str:
        return f"{self.device}, {self.server}"


def server_version(http_url: str) -> str:
    """``<name> <version>`` from ``GET /v2`` (open on every server, the restricted ones included)."""
    try:
        with urllib.request.urlopen(f"http://{http_url}/v2", timeout=10) as r:
            meta = json.load(r)
    except (urllib.error.URLError, OSError, ValueError) as e:
        log.warning("server metadata unavailable at %s: %s", http_url, e)
        return "unknown server"
    return f"{meta.get('name', 'unknown')} {meta.get('version', '?')}"


def cpu_model() -> str:
    """This machine's CPU model name (``/proc/cpuinfo``, else what the platform reports)."""
    info = Path("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                  if line.startswith("model name")), None) if info.exists() else None
    return model or platform.processor() or "unknown CPU"


def cpu_label() -> str:
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores"


def nvidia_gpus() -> list[str]:
    """GPU names nvidia-smi lists on this machine (empty without one)."""
    from mmtriton.engine.device import query_gpus
    from mmtriton.errors import EngineError

    try:
        return [f"{name} (compute {cap})" for name, cap in query_gpus()]
    except EngineError:
        return []


def server_runs_on_gpu(http_url: str, models: Sequence[str]) -> bool:
    """Whether the measured server runs ``models`` on a GPU, from their own configs (``GET
    /v2/models/<m>/config`` is open on restricted servers too): a TensorRT plan or a
    ``KIND_GPU`` instance group. The benchmark machine's own GPUs say nothing about that."""
    for model in models:
        try:
            with urllib.request.urlopen(f"http://{http_url}/v2/models/{model}/config", timeout=10) as r:
                cfg = json.load(r)
        except (urllib.error.URLError, OSError, ValueError) as e:
            log.warning("config of %s unavailable at %s: %s", model, http_url, e)
            continue
        if cfg.get("platform") == "tensorrt_plan" or any(g.get("kind") == "KIND_GPU"
                                                         for g in cfg.get("instance_group", [])):
            return True
    return False


def identify(http_url: str, models: Sequence[str]) -> Identity:
    """The server's version; a GPU label when the server runs ``models`` on a GPU (named by
    nvidia-smi where this machine sees it), otherwise this machine's CPU when the server is
    local, or a remote CPU server."""
    if server_runs_on_gpu(http_url, models):
        return Identity(server_version(http_url), ", ".join(nvidia_gpus()) or "GPU (not visible from the "
                        "benchmark container: nvidia-smi absent)", True)
    local = http_url.split(":")[0] in ("127.0.0.1", "localhost", "::1")
    return Identity(server_version(http_url), cpu_label() if local else f"CPU server at {http_url}", False)
