"""Model-input tensors for one sample, named by the spec: what the preprocessing models emit,
and what the client's local mode sends to the tensor ensemble. Absent modalities become a
one-row placeholder with ``<modality>_present = 0`` in both places."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from mmtriton.preprocess.audio import pad_frames
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import Role

Arrays = dict[str, np.ndarray]


def placeholders(graph: ModelGraph, modality: str, batch: int = 1) -> Arrays:
    """Zero tensors of the smallest valid shape, flagged absent (lengths and masks stay valid)."""
    flag = graph.present(modality)
    out = {flag.name: np.zeros((batch, 1), flag.dtype.numpy)}
    for t in graph.features(modality):
        fill = 1 if t.role in (Role.LENGTH, Role.MASK) else 0  # one valid step: lengths/masks stay valid
        out[t.name] = np.full(t.shape(batch, "min"), fill, t.dtype.numpy)
    return out


def present_tensors(graph: ModelGraph, modality: str, arrays: tuple[np.ndarray, ...]) -> Arrays:
    """Feature arrays of a present modality, named, plus its flag set to 1."""
    flag = graph.present(modality)
    out = {t.name: a for t, a in zip(graph.features(modality), arrays)}
    out[flag.name] = np.ones((arrays[0].shape[0], 1), flag.dtype.numpy)
    return out


def sample_tensors(pre: Any, image: Optional[bytes], audio: Optional[bytes], text: Optional[str]) -> Arrays:
    """Every tensor-ensemble input for one sample (batch 1), through the shared preprocessing."""
    graph: ModelGraph = pre.graph
    out: Arrays = {}
    out.update(present_tensors(graph, "image", (pre.image(image)[None],)) if image is not None
               else placeholders(graph, "image"))
    out.update(present_tensors(graph, "audio", pad_frames([pre.audio(audio)])) if audio is not None
               else placeholders(graph, "audio"))
    out.update(present_tensors(graph, "text", pre.text([text])) if text is not None else placeholders(graph, "text"))
    return out
