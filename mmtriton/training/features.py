"""Frozen-backbone features, computed once per split: the pretrained towers do not change in
training, so running them every epoch would only burn the two CPU cores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from mmtriton.models.multimodal import MultimodalModel
from mmtriton.preprocess import Preprocessor, pad_frames
from mmtriton.training.dataset import SplitArrays


@dataclass
class CachedSplit:
    """Tensors a training step needs; audio stays raw because its tower is trained."""

    image_features: torch.Tensor
    text_features: torch.Tensor
    mels: list[np.ndarray]
    presence: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def audio_batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad the selected clips exactly like a server batch would."""
        mel, lengths = pad_frames([self.mels[i] for i in index])
        return torch.from_numpy(mel), torch.from_numpy(lengths)


@torch.no_grad()
def image_features(model: MultimodalModel, pixels: np.ndarray, batch: int = 64) -> torch.Tensor:
    model.image.backbone.eval()
    chunks = [model.image.features(torch.from_numpy(pixels[i:i + batch])) for i in range(0, len(pixels), batch)]
    return torch.cat(chunks) if chunks else torch.zeros(0, 1280)


@torch.no_grad()
def text_features(model: MultimodalModel, pre: Preprocessor, texts: Sequence[Optional[str]]) -> torch.Tensor:
    """Features for each caption; each distinct caption is encoded once."""
    model.text.backbone.eval()
    unique = sorted({t for t in texts if t is not None})
    table: dict[str, torch.Tensor] = {}
    for i in range(0, len(unique), 64):
        chunk = unique[i:i + 64]
        ids, mask = pre.text(chunk)
        feats = model.text.features(torch.from_numpy(ids), torch.from_numpy(mask))
        table.update(zip(chunk, feats))
    zero = torch.zeros(model.text.feature_dim)
    return torch.stack([table[t] if t is not None else zero for t in texts])


def cache_split(model: MultimodalModel, pre: Preprocessor, split: SplitArrays) -> CachedSplit:
    return CachedSplit(
        image_features=image_features(model, split.pixels),
        text_features=text_features(model, pre, split.texts),
        mels=split.mels,
        presence=torch.from_numpy(split.presence),
        labels=torch.from_numpy(split.labels),
    )
