"""Build ensemble requests with the official ``tritonclient`` (http or grpc module), from the spec.

Deliberately not the client SDK: the served-vs-offline check, the overload benchmark and the
tests that must speak to the server as any plain KServe v2 client would (raw statuses, no SDK
validation or retries) build their requests here.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from mmtriton.spec.graph import ModelGraph


def ensemble_inputs(module: Any, graph: ModelGraph, image: Optional[bytes] = None, audio: Optional[bytes] = None,
                    text: Optional[str] = None) -> list:
    """InferInput objects for the modalities given; absent ones are simply not sent."""
    values = dict(zip((t.name for t in graph.ensemble.inputs), (image, audio, text)))
    inputs = []
    for spec in graph.ensemble.inputs:
        value = values[spec.name]
        if value is None:
            continue
        data = value.encode("utf-8") if isinstance(value, str) else value
        inp = module.InferInput(spec.name, [1, 1], spec.dtype.triton_wire)
        inp.set_data_from_numpy(np.array([[data]], dtype=object))
        inputs.append(inp)
    return inputs


def ensemble_outputs(result: Any, graph: ModelGraph) -> dict[str, np.ndarray]:
    return {t.name: result.as_numpy(t.name) for t in graph.ensemble.outputs}
