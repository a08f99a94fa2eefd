"""The PyTorch reference as ``Runner``s: the exact module each exported model runs (the fusion
model with its softmax, as served), so PyTorch, ONNX Runtime and TensorRT share one graph
runner (``mmtriton.runtime.run_graph``) and every comparison compares like with like."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from mmtriton.models.fusion import FusionServing
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec

Arrays = dict[str, np.ndarray]


def serving_modules(model: MultimodalModel, graph: ModelGraph) -> dict[str, nn.Module]:
    """The nn.Module that each exported spec model runs, keyed by model name, in eval mode
    (they are only ever run for inference: export, parity, the offline reference)."""
    mods = {graph.image_encoder.name: model.image, graph.audio_encoder.name: model.audio,
            graph.text_encoder.name: model.text, graph.fusion.name: FusionServing(model.fusion)}
    return {name: m.eval() for name, m in mods.items()}


def torch_outputs(module: nn.Module, spec: ModelSpec, inputs: Arrays) -> list[np.ndarray]:
    """``module`` on numpy inputs, outputs in the spec's order (no autograd)."""
    with torch.no_grad():
        out = module(*[torch.from_numpy(inputs[n]) for n in spec.input_names])
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


class TorchRunner:
    """One exported model in PyTorch eager mode (a module from ``serving_modules``)."""

    def __init__(self, module: nn.Module, spec: ModelSpec) -> None:
        self.module, self.spec = module, spec

    def __call__(self, feeds: Arrays) -> Arrays:
        return dict(zip(self.spec.output_names, torch_outputs(self.module, self.spec, feeds)))


def torch_runners(model: MultimodalModel, graph: ModelGraph) -> dict[str, TorchRunner]:
    mods = serving_modules(model, graph)
    return {m.name: TorchRunner(mods[m.name], m) for m in graph.exported}


def eager_probabilities(model: MultimodalModel, pre: Any, image: Optional[bytes], audio: Optional[bytes],
                        text: Optional[str], runners: Optional[dict] = None) -> np.ndarray:
    """One sample through the shared preprocessing and the PyTorch model: the offline reference
    that served results are held to."""
    from mmtriton.preprocess.tensors import sample_tensors
    from mmtriton.runtime import run_graph

    graph: ModelGraph = pre.graph
    out = run_graph(graph, runners or torch_runners(model, graph), sample_tensors(pre, image, audio, text))
    return out[graph.probabilities.name][0]
