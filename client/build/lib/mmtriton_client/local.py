"""preprocess="client": decode and preprocess on the client with the server's own library, and
send tensors to the tensor ensemble (skips server-side decoding). Needs the ``local`` extra."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmtriton_client.errors import ClientError, InvalidInputError
from mmtriton_client.model_info import ModelInfo


class LocalPreprocessor:
    def __init__(self, info: ModelInfo, preset: str) -> None:
        try:
            from mmtriton.preprocess import Preprocessor
            from mmtriton.spec import get_graph
        except ImportError as e:
            raise ClientError("preprocess='client' needs the mmtriton package (pip install 'mmtriton-client[local]')") from e
        if not info.tensor_model:
            raise ClientError("the server does not publish a tensor model for client-side preprocessing")
        self.graph = get_graph(preset)
        self.pre = Preprocessor(self.graph)
        self.model = info.tensor_model

    def tensors(self, data: dict) -> dict[str, np.ndarray]:
        from mmtriton.errors import InvalidInputError as LibraryInvalidInput
        from mmtriton.preprocess.tensors import sample_tensors

        text = data["text"].decode("utf-8") if data["text"] is not None else None
        try:
            return sample_tensors(self.pre, data["image"], data["audio"], text)
        except LibraryInvalidInput as e:
            raise InvalidInputError(str(e)) from e

    def inputs(self, module: Any, data: dict) -> list:
        out = []
        arrays = self.tensors(data)
        for spec in self.graph.tensor_ensemble.inputs:
            inp = module.InferInput(spec.name, list(arrays[spec.name].shape), spec.dtype.triton_wire)
            inp.set_data_from_numpy(arrays[spec.name])
            out.append(inp)
        return out
