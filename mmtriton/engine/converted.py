"""The ONNX models an engine of a given precision is built from (see ``engine.precision``).

fp32 builds from the exported folder. fp16 and int8 build from ``onnx-<precision>/`` beside it,
converted by ModelOpt from the exported files with calibration batches of the validation split.
A stamp records, per model, the sha256 of the exported ONNX and the recipe: a retrain (new ONNX)
or a new recipe converts again, nothing else does. The engine manifest then hashes the converted
file, so an engine is never reused across either.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np

from mmtriton.engine.manifest import sha256_file
from mmtriton.engine.precision import convert_in_modelopt_env, is_current, recipe, record, stamp_entry
from mmtriton.errors import EngineError
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec

log = logging.getLogger(__name__)


def converted_dir(onnx_dir: Path, precision: str) -> Path:
    return onnx_dir if precision == "fp32" else onnx_dir.parent / f"onnx-{precision}"


def calibration_file(graph: ModelGraph, spec: ModelSpec, onnx_dir: Path, manifest: Path, batches: int,
                     out: Path) -> Path:
    """``batches`` real input batches of ``spec`` (validation split), concatenated, as .npz."""
    from mmtriton.engine.calibration import calibration_batches

    found = calibration_batches(graph, spec, manifest, onnx_dir, batches)
    arrays = {name: np.concatenate([b[name] for b in found]) for name in spec.input_names}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    return out


def ensure_converted(graph: ModelGraph, onnx_dir: Path, precision: str, calibration_manifest: Optional[Path],
                     batches: int = 16) -> Path:
    """The folder holding every exported model at ``precision``, converting what is not current."""
    folder = converted_dir(onnx_dir, precision)
    if precision == "fp32":
        return folder
    r = recipe(precision)
    if calibration_manifest is None or not calibration_manifest.is_file():
        raise EngineError(f"{precision} conversion calibrates on the validation split; {calibration_manifest} is missing")
    for spec in graph.exported:
        src = onnx_dir / f"{spec.name}.onnx"
        entry = stamp_entry(sha256_file(src), r)
        if is_current(folder, spec.name, entry):
            continue
        log.info("converting %s to %s (%s)", spec.name, precision, r.tool)
        calib = calibration_file(graph, spec, onnx_dir, calibration_manifest, batches,
                                 folder / "calibration" / f"{spec.name}.npz")
        convert_in_modelopt_env(src, folder / f"{spec.name}.onnx", precision, calib)
        record(folder, spec.name, entry)
    return folder
