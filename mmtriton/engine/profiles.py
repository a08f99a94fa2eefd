"""What an engine is built with: precision, workspace, and one optimisation profile per input.

The min/opt/max shapes come from the spec (batch from ``max_batch_size``/``opt_batch_size``,
frames and tokens from their ``Dim`` ranges), the same numbers the ONNX export's dynamic axes
and the Triton configs use, so an engine accepts exactly what the server lets through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mmtriton.errors import EngineError
from mmtriton.spec.tensors import ModelSpec, ShapeProfile


class Precision(str, enum.Enum):
    """Precision of the ONNX graph the engine is built from (engine.precision); inputs and
    outputs stay FP32/INT32 either way."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"  # explicit Q/DQ in the ONNX graph, calibrated on the validation split


@dataclass(frozen=True)
class BuildOptions:
    precision: Precision = Precision.FP16
    workspace_mib: int = 2048
    calibration_batches: int = 16  # INT8 only: batches of opt_batch_size real inputs
    timing_cache: Optional[Path] = None  # persistent across builds: later builds skip kernel timing

    def __post_init__(self) -> None:
        if self.workspace_mib < 64:
            raise EngineError(f"workspace of {self.workspace_mib} MiB is too small for any engine (>= 64)")
        if self.calibration_batches < 1:
            raise EngineError("INT8 calibration needs at least one batch")

    @property
    def workspace_bytes(self) -> int:
        return self.workspace_mib << 20


def engine_profiles(spec: ModelSpec) -> dict[str, ShapeProfile]:
    """One optimisation profile: min/opt/max batched shape of every input, checked elementwise."""
    profiles = spec.profiles()
    for name, p in profiles.items():
        if not (len(p.min) == len(p.opt) == len(p.max)):
            raise EngineError(f"{spec.name}.{name}: profile shapes differ in rank: {p}")
        if any(not (lo <= mid <= hi) for lo, mid, hi in zip(p.min, p.opt, p.max)):
            raise EngineError(f"{spec.name}.{name}: need min <= opt <= max on every axis, got {p}")
    return profiles


def profiles_to_json(profiles: dict[str, ShapeProfile]) -> dict[str, dict[str, list[int]]]:
    """Profiles as plain lists, the form the manifest stores and compares."""
    return {name: {"min": list(p.min), "opt": list(p.opt), "max": list(p.max)} for name, p in sorted(profiles.items())}
