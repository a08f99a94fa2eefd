"""Calibration batches for the ModelOpt precision conversion (``engine.converted``), from the
reference data set (held-out split never used: calibration reads
the validation split, so the parity check on the test split stays honest).

Each batch is ``opt_batch_size`` real inputs, preprocessed by the shared numpy library; the
fusion model is calibrated on real encoder outputs computed with ONNX Runtime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec


def calibration_batches(graph: ModelGraph, spec: ModelSpec, manifest: Path, onnx_dir: Path,
                        count: int) -> list[dict[str, np.ndarray]]:
    """``count`` input batches for ``spec`` built from real samples of ``manifest``."""
    from mmtriton.data.payloads import load_items
    from mmtriton.preprocess import Preprocessor
    from mmtriton.preprocess.tensors import sample_tensors
    from mmtriton.runtime import stack

    pre, b = Preprocessor(graph), spec.opt_batch_size
    items = load_items(manifest, count * b)
    per_item = [sample_tensors(pre, it.image, it.audio, it.text) for it in items]
    batches = []
    for start in range(0, count * b, b):
        chunk = [per_item[(start + k) % len(per_item)] for k in range(b)]
        batches.append(stack(chunk))
    if spec is graph.fusion:
        batches = _with_embeddings(graph, onnx_dir, batches)
    return [fit_to_opt(spec, {n: t[n] for n in spec.input_names}) for t in batches]


def fit_to_opt(spec: ModelSpec, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Crop or zero-pad every dynamic axis to the spec's opt size (``TensorSpec.shape``): ModelOpt
    takes the calibration data as one array per input, so every batch must have the same shape.
    Length inputs (one int per row) are clipped to the cropped length."""
    out, longest = {}, 0
    for t in spec.inputs:
        a, target = arrays[t.name], t.shape(len(arrays[t.name]), "opt")
        for axis in t.dynamic_axes:
            size = target[axis]
            longest = max(longest, size)
            a = np.take(a, range(min(a.shape[axis], size)), axis=axis)
            pad = [(0, 0)] * a.ndim
            pad[axis] = (0, size - a.shape[axis])
            a = np.pad(a, pad)
        out[t.name] = np.ascontiguousarray(a)
    for t in spec.inputs:
        if not t.dynamic_axes and t.dims == (1,) and t.dtype.numpy.kind == "i" and longest:
            out[t.name] = np.minimum(out[t.name], longest).astype(t.dtype.numpy)
    return out


def _with_embeddings(graph: ModelGraph, onnx_dir: Path, batches: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Real encoder outputs (ONNX Runtime) added to every batch: the fusion model's inputs."""
    from mmtriton.runtime import ort_runners, run_graph

    runners = ort_runners(graph, onnx_dir, models=graph.encoders)
    return [run_graph(graph, runners, t, graph.encoders) for t in batches]
