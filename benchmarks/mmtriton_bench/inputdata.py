"""perf_analyzer ``--input-data`` JSON for every model of the graph, generated from the spec.

Raw-input models (the ensemble and the preprocessing models) get the workload's encoded files;
tensor models (encoders, fusion, postprocess, the tensor ensemble) get the tensors those same
files become, computed offline with the shared preprocessing and the exported ONNX models, so
every model is measured on what it really receives. BYTES values are written as perf_analyzer
wants them: base64 of a 4-byte little-endian length followed by the raw bytes.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mmtriton.data.payloads import Item
from mmtriton.preprocess.tensors import sample_tensors
from mmtriton.spec.dtypes import DType
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.modality import MODALITIES
from mmtriton.spec.tensors import TensorSpec

Arrays = dict[str, np.ndarray]


def bytes_entry(value: bytes) -> dict:
    return {"b64": base64.b64encode(struct.pack("<I", len(value)) + value).decode("ascii"), "shape": [1]}


def decode_bytes_entry(entry: dict) -> bytes:
    """Inverse of :func:`bytes_entry` (tests prove the round trip through the server)."""
    raw = base64.b64decode(entry["b64"])
    (n,) = struct.unpack("<I", raw[:4])
    return raw[4:4 + n]


def tensor_entry(spec: TensorSpec, array: np.ndarray) -> dict:
    """One request's value (leading batch row dropped: perf_analyzer adds the batch dimension)."""
    row = array[0]
    if spec.dtype is DType.BYTES:
        value = row.reshape(-1)[0]
        return bytes_entry(value if isinstance(value, bytes) else str(value).encode())
    return {"content": row.astype(spec.dtype.numpy).reshape(-1).tolist(), "shape": list(row.shape)}


def raw_entries(graph: ModelGraph, items: Sequence[Item]) -> list[dict]:
    """Ensemble-input entries; a modality the item does not carry is left out (optional input)."""
    names = dict(zip(MODALITIES, (t.name for t in graph.ensemble.inputs)))
    out = []
    for it in items:
        values = {"image": it.image, "audio": it.audio, "text": it.text.encode() if it.text else None}
        out.append({names[m]: bytes_entry(v) for m, v in values.items() if v is not None})
    return out


class TensorSource:
    """Per-item tensors for every tensor input in the graph (preprocessed, embedded, fused)."""

    def __init__(self, graph: ModelGraph, pre: Any, onnx_dir: Path) -> None:
        from mmtriton.runtime import ort_runners

        self.graph, self.pre = graph, pre
        self.runners = ort_runners(graph, onnx_dir)

    def tensors(self, item: Item) -> Arrays:
        from mmtriton.runtime import run_graph

        g = self.graph
        t = run_graph(g, self.runners, sample_tensors(self.pre, **item.kwargs))
        for m in MODALITIES:
            t[g.error(m).name] = np.array([[b""]], dtype=object)
        t.update({internal: t[public] for internal, public in g.published.items()})  # postprocess's inputs
        return t


def tensor_entries(inputs: Sequence[TensorSpec], per_item: Sequence[Arrays]) -> list[dict]:
    return [{spec.name: tensor_entry(spec, t[spec.name]) for spec in inputs} for t in per_item]


def write_input_data(graph: ModelGraph, items: Sequence[Item], per_item: Sequence[Arrays], out_dir: Path) -> dict[str, Path]:
    """One JSON file per model name (ensembles included); returns {model: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = raw_entries(graph, items)
    paths = {}
    for name, inputs in _model_inputs(graph).items():
        entries = raw if inputs is None else tensor_entries(inputs, per_item)
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps({"data": entries}))
        paths[name] = path
    return paths


def _model_inputs(graph: ModelGraph) -> dict[str, Any]:
    """None marks raw-input models (their entries are the encoded files)."""
    raw_models = {graph.ensemble.name: None}
    raw_models.update({m.name: None for m in (graph.image_preprocess, graph.audio_preprocess, graph.text_preprocess)})
    tensor_models = {m.name: m.inputs for m in graph.encoders + (graph.fusion, graph.postprocess)}
    tensor_models[graph.tensor_ensemble.name] = graph.tensor_ensemble.inputs
    return {**raw_models, **tensor_models}
