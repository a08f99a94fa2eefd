"""What an engine is built with: precision, workspace, and one optimisation profile per input.

The min/opt/max shapes come from the spec (batch from ``max_batch_size`` and the serving
policy's preferred batch sizes, frames and tokens from their ``Dim`` ranges and length buckets),
the same numbers the ONNX export's dynamic axes and the Triton configs use, so an engine accepts
exactly what the server lets through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mmtriton.errors import EngineError
from mmtriton.spec.tensors import Dim, ModelSpec, ShapeProfile, TensorSpec


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


def profile_batch(spec: ModelSpec) -> int:
    """The batch size a profile is tuned for: the largest preferred batch size of the model's
    serving policy (what Triton's batcher aims for), else the spec's opt batch size."""
    b = spec.batching
    return max(b.preferred_batch_sizes) if b.dynamic and b.preferred_batch_sizes else spec.opt_batch_size


def _profile(spec: ModelSpec, batch: int, bucketed: Optional[Dim], lo: int, hi: int) -> dict[str, ShapeProfile]:
    """Every input's min/opt/max (``TensorSpec.shape``); the bucketed axis spans lo..hi and is
    tuned at hi."""
    def shape(t: TensorSpec, rows: int, which: str) -> tuple[int, ...]:
        out = list(t.shape(rows, which))
        for axis, d in t.dynamic_axes.items():
            if d == bucketed:
                out[axis] = lo if which == "min" else hi
        return tuple(out)

    return {t.name: ShapeProfile(shape(t, 1, "min"), shape(t, batch, "opt"), shape(t, spec.max_batch_size, "max"))
            for t in spec.inputs}


def engine_profiles(spec: ModelSpec) -> tuple[dict[str, ShapeProfile], ...]:
    """One optimisation profile per length bucket (a model without one gets a single profile).

    Profile k takes the lengths of bucket k (previous bucket + 1 .. bucket k) and is tuned at
    (largest preferred batch size, bucket k): preprocessing pads to exactly the bucket, so
    every batch the server forms has one of those shapes, and a raw-tensor client sending any
    length in range still finds the profile that holds it. Checked elementwise."""
    bucketed, batch = spec.bucketed_dim, profile_batch(spec)
    ranges = bucketed.bucket_ranges() if bucketed is not None else ((0, 0),)
    profiles = tuple(_profile(spec, batch, bucketed, lo, hi) for lo, hi in ranges)
    for profile in profiles:
        _check(spec, profile)
    return profiles


def _check(spec: ModelSpec, profile: dict[str, ShapeProfile]) -> None:
    for name, p in profile.items():
        if not (len(p.min) == len(p.opt) == len(p.max)):
            raise EngineError(f"{spec.name}.{name}: profile shapes differ in rank: {p}")
        if any(not (lo <= mid <= hi) for lo, mid, hi in zip(p.min, p.opt, p.max)):
            raise EngineError(f"{spec.name}.{name}: need min <= opt <= max on every axis, got {p}")


def profiles_to_json(profiles: tuple[dict[str, ShapeProfile], ...]) -> list[dict[str, dict[str, list[int]]]]:
    """Profiles as plain lists, the form the manifest stores and compares."""
    return [{name: {"min": list(p.min), "opt": list(p.opt), "max": list(p.max)} for name, p in sorted(profile.items())}
            for profile in profiles]
