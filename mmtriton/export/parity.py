"""Prove an exported model: ONNX Runtime vs PyTorch on real preprocessed samples at batch sizes
and lengths other than the traced ones (1, 3, 8, the profile maximum; min and max lengths)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from mmtriton.errors import ParityError
from mmtriton.models.runners import torch_outputs
from mmtriton.runtime import ort_session
from mmtriton.spec.tensors import ModelSpec

TOLERANCE = 1e-4


@dataclass(frozen=True)
class ParityCase:
    model: str
    case: str
    shapes: dict
    max_abs_diff: float
    passed: bool


@torch.no_grad()
def compare(session, module: nn.Module, spec: ModelSpec, case: str, inputs: dict[str, np.ndarray]) -> ParityCase:
    ours = session.run(list(spec.output_names), inputs)
    ref = torch_outputs(module, spec, inputs)
    diff = max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
               for a, b in zip(ours, ref))
    shapes = {k: list(v.shape) for k, v in inputs.items()}
    return ParityCase(spec.name, case, shapes, diff, diff <= TOLERANCE)


def check_parity(path: Path, module: nn.Module, spec: ModelSpec,
                 cases: Iterable[tuple[str, dict[str, np.ndarray]]]) -> list[ParityCase]:
    """Run every case; raise ParityError naming the worst one if any exceeds the tolerance."""
    session = ort_session(path)
    results = [compare(session, module, spec, name, inputs) for name, inputs in cases]
    worst = max(results, key=lambda r: r.max_abs_diff)
    if not worst.passed:
        raise ParityError(f"{spec.name}: ONNX Runtime differs from PyTorch by {worst.max_abs_diff:.3g} "
                          f"(> {TOLERANCE:g}) in case {worst.case!r} {worst.shapes}", worst.max_abs_diff)
    return results


def report(results: list[ParityCase]) -> dict:
    return {"tolerance": TOLERANCE, "passed": all(r.passed for r in results),
            "max_abs_diff": max((r.max_abs_diff for r in results), default=0.0),
            "cases": [asdict(r) for r in results]}
