"""What a benchmark report says it measured, read from the server and the machine rather than
assumed: the server's name and version from its own ``/v2`` metadata, the device from
``nvidia-smi`` where one is present, otherwise the CPU. A GPU run published by the compose
``bench`` service must not carry the embedded CPU server's label."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

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


def cpu_label() -> str:
    info = Path("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU") if info.exists() else "unknown CPU"
    return f"CPU: {model}, {os.cpu_count()} cores"


def device_label() -> tuple[str, bool]:
    """(label, is_gpu): the GPUs nvidia-smi lists, else the CPU."""
    from mmtriton.engine.device import query_gpus
    from mmtriton.errors import EngineError

    try:
        gpus = query_gpus()
    except EngineError:
        gpus = []
    if not gpus:
        return cpu_label(), False
    return ", ".join(f"{name} (compute {cap})" for name, cap in gpus), True


def identify(http_url: str) -> Identity:
    device, gpu = device_label()
    return Identity(server_version(http_url), device, gpu)
