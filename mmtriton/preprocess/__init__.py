"""One preprocessing library (numpy + Pillow/libsndfile/soxr/tokenizers) for training, serving,
the client's local mode and the tests, so that what the model saw in training is what it sees
in production."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import numpy as np

from mmtriton.preprocess.audio import LogMel, decode_audio, pad_frames, preprocess_audio
from mmtriton.preprocess.image import preprocess_image, preprocess_images
from mmtriton.preprocess.text import TextLike, TextTokenizer, check_text
from mmtriton.spec.graph import ModelGraph


class Preprocessor:
    """All three modalities for one spec graph; heavy objects (mel bank, tokenizer) built once."""

    def __init__(self, graph: ModelGraph, text_model: Union[str, Path, None] = None) -> None:
        from mmtriton.resources import default_text_model

        self.graph = graph
        preset = graph.preset
        ids, mask = graph.token_inputs
        self.log_mel = LogMel(preset.audio)
        self.tokenizer = TextTokenizer(text_model or default_text_model(), preset.text, ids.dtype, mask.dtype)

    def image(self, data: bytes) -> np.ndarray:
        return preprocess_image(data, self.graph.preset.image)

    def audio(self, data: bytes) -> np.ndarray:
        return preprocess_audio(data, self.graph.preset.audio, self.log_mel)

    def text(self, texts: Sequence[TextLike]) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(texts, (str, bytes)):
            raise TypeError("text() takes a list of captions; wrap a single caption in a list")
        return self.tokenizer(texts)


__all__ = [
    "LogMel", "Preprocessor", "TextTokenizer", "check_text", "decode_audio", "pad_frames",
    "preprocess_audio", "preprocess_image", "preprocess_images",
]
