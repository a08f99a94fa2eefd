"""One offline runtime for the spec's graph: a ``Runner`` per model (ONNX Runtime here, PyTorch
eager in ``mmtriton.models.runners``, TensorRT in ``mmtriton.engine.runner``) and one function
that runs preprocessed tensors through the encoders and the fusion model with any of them.

Export parity, engine parity, INT8 calibration, the in-process floor, perf_analyzer's input
data and served-vs-offline all run the chain through ``run_graph``, so they cannot drift apart.
ONNX Runtime is imported lazily: the core must stay light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Protocol, Sequence

import numpy as np

from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec

Arrays = dict[str, np.ndarray]


class Runner(Protocol):
    """One model of the graph: its named inputs in, its named outputs out (extra feeds ignored)."""

    def __call__(self, feeds: Arrays) -> Arrays: ...


def ort_session(path: Path, threads: int = 1):
    """A CPU session with ``threads`` intra-op threads; one per Triton instance by default so
    instances scale across cores instead of fighting over them."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class OrtRunner:
    """``<model>.onnx`` in ONNX Runtime on the CPU."""

    def __init__(self, spec: ModelSpec, path: Path, threads: int = 1) -> None:
        self.spec, self.session = spec, ort_session(path, threads)

    def __call__(self, feeds: Arrays) -> Arrays:
        outs = self.session.run(list(self.spec.output_names), {n: feeds[n] for n in self.spec.input_names})
        return dict(zip(self.spec.output_names, outs))


def ort_runners(graph: ModelGraph, onnx_dir: Path, threads: int = 1,
                models: Optional[Iterable[ModelSpec]] = None) -> dict[str, Runner]:
    return {m.name: OrtRunner(m, onnx_dir / f"{m.name}.onnx", threads) for m in (models or graph.exported)}


def stack(per_item: Sequence[Arrays]) -> Arrays:
    """Per-request tensors (batch 1 each, ragged lengths) as one zero-padded batch."""
    from mmtriton.preprocess.batching import pad_axis1

    return {name: pad_axis1([p[name] for p in per_item]) for name in per_item[0]}


def run_graph(graph: ModelGraph, runners: dict[str, Runner], tensors: Arrays,
              models: Optional[Sequence[ModelSpec]] = None) -> Arrays:
    """``tensors`` (the tensor ensemble's inputs) plus the outputs of every model in ``models``
    (default: encoders then fusion), each fed by name from what came before."""
    out = dict(tensors)
    for m in models or graph.exported:
        out.update(runners[m.name]({n: out[n] for n in m.input_names}))
    return out


def probabilities(graph: ModelGraph, runners: dict[str, Runner], batches: Iterable[Arrays]) -> np.ndarray:
    """The fusion model's class probabilities for every row of ``batches``, concatenated."""
    name = graph.probabilities.name
    return np.concatenate([run_graph(graph, runners, t)[name] for t in batches])
