"""Export each encoder and the fusion model to ONNX with names and dynamic axes from the spec.

Only the dynamo exporter is used: the legacy one baked attention shapes into the Transformer
and failed at any batch or length other than the traced ones.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mmtriton.errors import ExportError
from mmtriton.spec.tensors import Dim, ModelSpec, Role

log = logging.getLogger(__name__)
OPSET = 18
TRACE_BATCH = 2  # parity runs at 1, 3, 8 and the profile limits, never only at the traced shape


def _export_dims(spec: ModelSpec) -> dict[str, dict[int, torch.export.Dim]]:
    """torch.export dynamic shapes per input; inputs sharing a spec Dim share one export Dim."""
    batch = torch.export.Dim("batch", min=1, max=spec.max_batch_size)
    named: dict[str, torch.export.Dim] = {"batch": batch}
    shapes = {}
    for t in spec.inputs:
        axes = {0: batch}
        for axis, d in t.dynamic_axes.items():
            named.setdefault(d.name, torch.export.Dim(d.name, min=d.min, max=d.max))
            axes[axis] = named[d.name]
        shapes[t.name] = axes
    return shapes


def example_inputs(spec: ModelSpec, batch: int = TRACE_BATCH, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic but valid inputs at the opt lengths, used only to trace the graph."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for t in spec.inputs:
        shape = t.shape(batch, "opt")
        if t.dtype.numpy.kind == "f":
            out[t.name] = rng.standard_normal(shape).astype(t.dtype.numpy)
        else:
            dyn = [d for d in t.dims if isinstance(d, Dim)]
            high = dyn[0].opt if dyn else 2
            out[t.name] = np.full(shape, high, dtype=t.dtype.numpy) if t.role is Role.LENGTH else \
                rng.integers(1, 1000, size=shape).astype(t.dtype.numpy)
    return _valid_masks(spec, out)


def _valid_masks(spec: ModelSpec, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Attention masks of all ones and presence flags of ones keep the traced example realistic
    (which inputs those are is the spec's ``Role``, not a guess from dtype and rank)."""
    for t in spec.inputs_with(Role.MASK, Role.PRESENT):
        arrays[t.name] = np.ones_like(arrays[t.name])
    return arrays


def _quiet_exporter() -> None:
    """The exporter logs every graph rewrite at INFO; torch resets its loggers on import, so do this late."""
    for name in ("torch.onnx", "torch.onnx._internal.exporter._registration", "onnxscript", "onnx_ir"):
        logging.getLogger(name).setLevel(logging.ERROR)


def export_onnx(module: nn.Module, spec: ModelSpec, path: Path) -> Path:
    """Trace ``module`` with dynamo, write ``path`` as a single file and run the full checker."""
    import onnx

    _quiet_exporter()
    module = module.eval()
    inputs = example_inputs(spec)
    args = tuple(torch.from_numpy(inputs[n]) for n in spec.input_names)
    shapes = _export_dims(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module, args, dynamo=True, opset_version=OPSET, input_names=list(spec.input_names),
                output_names=list(spec.output_names), dynamic_shapes=tuple(shapes[n] for n in spec.input_names),
                optimize=True, verbose=False)
        program.save(str(path), external_data=False)
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # the exporter raises many unrelated types
        raise ExportError(f"exporting {spec.name!r} to ONNX failed: {e}") from e
    log.info("exported %s -> %s", spec.name, path)
    return path
