"""Single source of truth for models, tensors, dtypes, shapes and preprocessing constants.

Imports numpy only; never torch, onnxruntime or tensorrt.
"""

from mmtriton.spec.dtypes import DType
from mmtriton.spec.graph import ModelGraph, get_graph, validate_ensemble
from mmtriton.spec.modality import MODALITIES, SUBSETS, Modality
from mmtriton.spec.presets import (
    CLASS_NAMES, DEMO, PRESETS, PRODUCTION, AudioConfig, ImageConfig, Preset, TextConfig, get_preset,
)
from mmtriton.spec.tensors import (
    BatchingSpec, Dim, EnsembleSpec, EnsembleStep, ModelSpec, Role, ShapeProfile, TensorSpec,
)

__all__ = [
    "BatchingSpec", "CLASS_NAMES", "DEMO", "PRESETS", "PRODUCTION", "AudioConfig", "DType", "Dim", "EnsembleSpec",
    "EnsembleStep", "ImageConfig", "MODALITIES", "Modality", "ModelGraph", "ModelSpec", "Preset", "Role", "SUBSETS", "ShapeProfile",
    "TensorSpec",
    "TextConfig", "get_graph", "get_preset", "validate_ensemble",
]
