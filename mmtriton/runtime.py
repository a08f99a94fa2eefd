"""ONNX Runtime sessions with explicit threading (imported lazily: the core must stay light)."""

from __future__ import annotations

from pathlib import Path


def ort_session(path: Path, threads: int = 1):
    """A CPU session with ``threads`` intra-op threads; one per Triton instance by default so
    instances scale across cores instead of fighting over them."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
