"""GPU tests: TensorRT engines built from the exported models, run against ONNX Runtime.

They need the `tensorrt` package and an NVIDIA GPU: `build/gpu_check.sh` runs them inside the
builder image. Anywhere else they skip, and the reason is printed in the summary (-ra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest


def _missing_gpu() -> Optional[str]:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return ("TensorRT is not installed here (no tensorrt-cu12 wheel reachable, no GPU): "
                "run build/gpu_check.sh on a GPU host")
    from mmtriton.engine.device import current_device
    from mmtriton.errors import EngineError

    try:
        current_device()
    except EngineError as e:
        return str(e)
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing_gpu()
    if reason is None:
        return
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def device():
    from mmtriton.engine.device import current_device

    return current_device()


def _build(artifacts, graph, device, out: Path, precision: str):
    from mmtriton.engine.build import build_engines
    from mmtriton.engine.profiles import BuildOptions, Precision

    options = BuildOptions(Precision(precision), timing_cache=out.parent / "timing.cache")
    return build_engines(graph, artifacts.onnx("demo"), out, options, device, artifacts.manifest("val"))


@pytest.fixture(scope="session")
def fp32_engines(artifacts, graph, device, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("engines") / "fp32"
    _build(artifacts, graph, device, out, "fp32")
    return out


@pytest.fixture(scope="session")
def fp16_engines(artifacts, graph, device, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("engines") / "fp16"
    _build(artifacts, graph, device, out, "fp16")
    return out


@pytest.fixture(scope="session")
def build_engines_into(artifacts, graph, device):
    """Build (or reuse) engines of one precision into a folder; returns the per-model results."""
    return lambda out, precision: _build(artifacts, graph, device, out, precision)
