"""Precision lives in the ONNX graph, not in builder flags.

TensorRT 11 (NGC 26.10) removed the FP16/INT8 builder flags and the INT8 calibrators: every
network is strongly typed, so the types in the ONNX graph are the types the engine runs. TensorRT
10 builds the same graphs with ``STRONGLY_TYPED``. One code path for both:

- fp32: the exported graph as it is (the builder turns TF32 off);
- fp16: NVIDIA ModelOpt's ONNX AutoCast, inputs and outputs kept FP32, fed real validation
  inputs; nodes whose values exceed ``data_max`` = 32 stay FP32. Measured (precision-parity):
  AutoCast's default 512 moved the image encoder's probabilities by 0.016, over the 1e-2 bound;
  32 keeps them within 0.004;
- int8: ModelOpt's ONNX post-training quantisation, explicit Q/DQ, max calibration on the
  validation split's batches (never the held-out split). The first and last EDGE_NODES matrix
  nodes (Conv/MatMul) of each graph and every Gemm head stay FP32: quantising all of them cost
  2.7 % top-1 on the EfficientNet-Lite image encoder; with the edges in FP32 it is 0.3 %.

ModelOpt is heavy (torch, onnxruntime-gpu, cupy) and pins onnx 1.21: it runs in its own
environment (the builder image, or ``scripts/modelopt-venv.sh`` on a CPU machine), called as
``python -m mmtriton.engine.precision``; this module imports only numpy and onnx there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from mmtriton.errors import EngineError

log = logging.getLogger(__name__)
MODELOPT = "nvidia-modelopt==0.47.0"
STAMP = "precision.json"
PYTHON_ENV = "MMTRITON_MODELOPT_PYTHON"  # interpreter with ModelOpt (default: this one)
DATA_MAX = 32
EDGE_NODES = 3


@dataclass(frozen=True)
class Recipe:
    precision: str
    tool: str
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        """What the engine manifest records: a changed recipe is a rebuild."""
        return ";".join([self.precision, self.tool] + [f"{k}={v}" for k, v in self.settings])


RECIPES = {
    "fp32": Recipe("fp32", "exported graph", (("tf32", "off"),)),
    "fp16": Recipe("fp16", MODELOPT, (("autocast", "fp16"), ("keep_io_types", "true"), ("data_max", str(DATA_MAX)),
                                      ("calibration", "validation batches"))),
    "int8": Recipe("int8", MODELOPT, (("quantize", "int8 explicit Q/DQ"), ("calibration_method", "max"),
                                      ("fp32_nodes", f"first/last {EDGE_NODES} Conv/MatMul, every Gemm"),
                                      ("high_precision_dtype", "fp32"), ("calibration", "validation batches"))),
}


def recipe(precision: str) -> Recipe:
    try:
        return RECIPES[precision]
    except KeyError:
        raise EngineError(f"unknown precision {precision!r}; choose one of {sorted(RECIPES)}") from None


def _autocast(src: Path, dst: Path, calibration: Optional[Path]) -> None:
    import onnx
    from modelopt.onnx.autocast import convert_to_mixed_precision

    model = convert_to_mixed_precision(onnx_path=str(src), low_precision_type="fp16", keep_io_types=True,
                                       data_max=DATA_MAX, calibration_data=str(calibration) if calibration else None,
                                       providers=["cpu"])
    onnx.save(model, str(dst))


def fp32_nodes(src: Path, edge: int = EDGE_NODES) -> list[str]:
    """The nodes INT8 leaves in FP32: the first and last ``edge`` Conv/MatMul nodes (a tower's
    stem and its last layers, where quantisation error is not averaged away) and every Gemm."""
    import onnx

    nodes = onnx.load(str(src), load_external_data=False).graph.node
    matrix = [n.name for n in nodes if n.op_type in ("Conv", "MatMul")]
    edges = matrix if len(matrix) <= 2 * edge else matrix[:edge] + matrix[-edge:]
    return sorted(set(edges) | {n.name for n in nodes if n.op_type == "Gemm"})


def _quantize(src: Path, dst: Path, calibration: Path) -> None:
    from modelopt.onnx.quantization import quantize

    with np.load(calibration) as data:
        arrays = {k: data[k] for k in data.files}
    quantize(onnx_path=str(src), quantize_mode="int8", calibration_data=arrays, calibration_method="max",
             calibration_eps=["cpu"], high_precision_dtype="fp32", nodes_to_exclude=fp32_nodes(src),
             output_path=str(dst), log_level="WARNING")


def convert_file(src: Path, dst: Path, precision: str, calibration: Optional[Path]) -> None:
    """One model, in this process (needs ModelOpt importable)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp.onnx")
    if precision == "fp16":
        _autocast(src, tmp, calibration)
    elif precision == "int8":
        if calibration is None:
            raise EngineError("INT8 needs calibration data (validation batches)")
        _quantize(src, tmp, calibration)
    else:
        raise EngineError(f"nothing to convert for {precision}")
    tmp.replace(dst)


def convert_in_modelopt_env(src: Path, dst: Path, precision: str, calibration: Optional[Path]) -> None:
    """Run ``convert_file`` under the ModelOpt interpreter (``$MMTRITON_MODELOPT_PYTHON``)."""
    python = os.environ.get(PYTHON_ENV, sys.executable)
    root = Path(__file__).resolve().parents[2]
    cmd = [python, "-m", "mmtriton.engine.precision", "--src", str(src), "--dst", str(dst), "--precision", precision]
    cmd += ["--calibration", str(calibration)] if calibration else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        hint = f" (set {PYTHON_ENV} to an interpreter with {MODELOPT}: scripts/modelopt-venv.sh)" \
            if "No module named 'modelopt'" in proc.stderr else ""
        raise EngineError(f"ModelOpt {precision} conversion of {src.name} failed{hint}: {proc.stderr.strip()[-1500:]}")


def stamp_entry(source_sha: str, r: Recipe) -> dict[str, str]:
    return {"source_sha256": source_sha, "recipe": r.id}


def is_current(folder: Path, model: str, entry: dict[str, str]) -> bool:
    """The converted file exists and was made from these ONNX bytes with this recipe."""
    stamp = folder / STAMP
    if not (folder / f"{model}.onnx").is_file() or not stamp.is_file():
        return False
    return json.loads(stamp.read_text()).get(model) == entry


def record(folder: Path, model: str, entry: dict[str, str]) -> None:
    stamp = folder / STAMP
    data = json.loads(stamp.read_text()) if stamp.is_file() else {}
    data[model] = entry
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(stamp)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Convert one ONNX model's precision with ModelOpt.")
    parser.add_argument("--src", type=Path, required=True)
    parser.add_argument("--dst", type=Path, required=True)
    parser.add_argument("--precision", choices=("fp16", "int8"), required=True)
    parser.add_argument("--calibration", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    convert_file(args.src, args.dst, args.precision, args.calibration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
