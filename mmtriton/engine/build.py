"""Build every encoder and the fusion model into ``<out>/<model>.plan`` + ``<model>.manifest.json``.

Idempotent: an engine whose manifest equals the one a build now would produce (same converted
ONNX bytes, precision recipe, workspace, profiles, GPU and TensorRT) is kept; every other one is
rebuilt.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from mmtriton.engine.device import DeviceInfo
from mmtriton.engine.manifest import (
    EngineManifest, differences, expected_manifest, read_manifest, write_manifest,
)
from mmtriton.engine.profiles import BuildOptions
from mmtriton.errors import EngineError
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineResult:
    model: str
    status: str  # "built" or "reused"
    seconds: float
    reasons: tuple[str, ...] = ()  # why it was (re)built


def engine_paths(out: Path, model: str) -> tuple[Path, Path]:
    return out / f"{model}.plan", out / f"{model}.manifest.json"


def rebuild_reasons(expected: EngineManifest, out: Path) -> list[str]:
    """Empty when the engine on disk is the one ``expected`` describes."""
    plan, manifest = engine_paths(out, expected.model)
    if not plan.is_file() or not manifest.is_file():
        return ["no engine yet"]
    try:
        found = read_manifest(manifest)
    except EngineError as e:
        return [str(e)]
    return differences(expected, found)


def _build_one(spec: ModelSpec, onnx_path: Path, options: BuildOptions,
               expected: EngineManifest) -> tuple[bytes, EngineManifest]:
    from mmtriton.engine.trt_build import build_plan, plan_io

    t0 = time.perf_counter()
    plan = build_plan(onnx_path, spec, options)
    inputs, outputs = plan_io(plan)
    built = dataclasses.replace(expected, inputs=inputs, outputs=outputs, build_seconds=round(time.perf_counter() - t0, 1))
    if differences(expected, built):  # the engine's IO must be the spec's
        raise EngineError(f"{spec.name}: engine IO differs from the spec: {differences(expected, built)}")
    return plan, built


def _store(out: Path, plan: bytes, manifest: EngineManifest) -> None:
    """Manifest removed first and written last: a crash mid-way leaves no matching manifest, so
    the next build redoes this engine instead of trusting a half-written plan."""
    plan_path, manifest_path = engine_paths(out, manifest.model)
    manifest_path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    tmp = plan_path.with_suffix(".plan.tmp")
    tmp.write_bytes(plan)
    tmp.replace(plan_path)
    write_manifest(manifest, manifest_path)


def build_engines(graph: ModelGraph, onnx_dir: Path, out: Path, options: BuildOptions, device: DeviceInfo,
                  calibration_manifest: Optional[Path] = None,
                  on_model: Optional[Callable[[EngineResult], None]] = None) -> list[EngineResult]:
    """Build or reuse the engine of every encoder and the fusion model, from the ONNX converted
    to ``options.precision`` (``engine.converted``): the builder sets no precision flag."""
    from mmtriton.engine.converted import ensure_converted

    results = []
    graph = graph.for_target("tensorrt")  # profiles are tuned at the engines' serving policy
    source = ensure_converted(graph, onnx_dir, options.precision.value, calibration_manifest, options.calibration_batches)
    for spec in graph.exported:
        onnx_path = source / f"{spec.name}.onnx"
        expected = expected_manifest(spec, graph.preset.name, onnx_path, options, device)
        reasons = rebuild_reasons(expected, out)
        if not reasons:
            result = EngineResult(spec.name, "reused", 0.0)
        else:
            log.info("building %s (%s): %s", spec.name, options.precision.value, "; ".join(reasons))
            plan, built = _build_one(spec, onnx_path, options, expected)
            _store(out, plan, built)
            result = EngineResult(spec.name, "built", built.build_seconds, tuple(reasons))
        results.append(result)
        if on_model:
            on_model(result)
    return results
