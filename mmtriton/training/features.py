"""Frozen-backbone features, computed once per split: the pretrained towers do not change in
training, so running them every epoch would only burn the two CPU cores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from mmtriton.models.image import BACKBONE_FEATURES, STROKE_SIZE, ImageEncoder
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.models.speech_embedding import POOLED
from mmtriton.models.text import TextEncoder
from mmtriton.preprocess import Preprocessor, pad_frames
from mmtriton.training.dataset import SplitArrays
from mmtriton.training.layout import channels_last


@dataclass
class CachedSplit:
    """Tensors a training step needs; audio stays raw because its tower is trained."""

    image_features: torch.Tensor
    ink: torch.Tensor                     # the stroke CNN's input [N, 1, 32, 32]
    speech: Optional[torch.Tensor]        # the frozen speech path's pooled output [N, POOLED]
    text_features: torch.Tensor
    mels: list[np.ndarray]
    presence: torch.Tensor
    labels: torch.Tensor

    def subset(self, index: np.ndarray) -> "CachedSplit":
        return CachedSplit(self.image_features[index], self.ink[index],
                           None if self.speech is None else self.speech[index], self.text_features[index],
                           [self.mels[i] for i in index], self.presence[index], self.labels[index])

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def audio_batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad the selected clips exactly like a server batch would."""
        mel, lengths = pad_frames([self.mels[i] for i in index])
        return torch.from_numpy(mel), torch.from_numpy(lengths)


@torch.no_grad()
def image_features(encoder: ImageEncoder, pixels: np.ndarray, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Backbone features and the stroke CNN's ink maps, for every image."""
    if encoder.backbone is not None:
        encoder.backbone.eval()
    feats, inks = [], []
    for i in range(0, len(pixels), batch):
        chunk = torch.from_numpy(pixels[i:i + batch])
        feats.append(encoder.features(chunk))
        inks.append(encoder.strokes.ink(chunk))
    if not feats:
        width = BACKBONE_FEATURES if encoder.backbone is not None else 0
        return torch.zeros(0, width), torch.zeros(0, 1, STROKE_SIZE, STROKE_SIZE)
    return torch.cat(feats), torch.cat(inks)


@torch.no_grad()
def speech_features(model: MultimodalModel, mels: list[np.ndarray], batch: int = 64) -> Optional[torch.Tensor]:
    """The frozen speech path's pooled embeddings per clip (None when the tower has no such path).
    Clips are batched in length order, so little padding is computed; the convolutions run
    channels-last (``layout``)."""
    if model.audio.speech is None:
        return None
    order = np.argsort([m.shape[0] for m in mels], kind="stable")
    out = torch.zeros(len(mels), POOLED)
    with channels_last(model.audio.speech):
        for i in range(0, len(order), batch):
            index = order[i:i + batch]
            mel, lengths = pad_frames([mels[j] for j in index])
            out[torch.from_numpy(index)] = model.audio.speech_pooled(torch.from_numpy(mel), torch.from_numpy(lengths))
    return out


@torch.no_grad()
def text_features(encoder: TextEncoder, pre: Preprocessor, texts: Sequence[Optional[str]]) -> torch.Tensor:
    """Features for each caption; each distinct caption is encoded once."""
    encoder.backbone.eval()
    unique = sorted({t for t in texts if t is not None})
    table: dict[str, torch.Tensor] = {}
    for i in range(0, len(unique), 64):
        chunk = unique[i:i + 64]
        ids, mask = pre.text(chunk)
        feats = encoder.features(torch.from_numpy(ids), torch.from_numpy(mask))
        table.update(zip(chunk, feats))
    zero = torch.zeros(encoder.feature_dim)
    return torch.stack([table[t] if t is not None else zero for t in texts])


def _speech_or_none(model: MultimodalModel, split: SplitArrays) -> Optional[torch.Tensor]:
    """``speech_features``, or zeros when no sample has audio (real handwriting alone: its
    placeholder clips would cost as much as real ones, and fusion zeroes an absent modality)."""
    if model.audio.speech is not None and not bool(np.any(split.presence[:, 1] > 0)):
        return torch.zeros(len(split), POOLED)
    return speech_features(model, split.mels)


def cache_split(model: MultimodalModel, pre: Preprocessor, split: SplitArrays) -> CachedSplit:
    feats, ink = image_features(model.image, split.pixels)
    return CachedSplit(
        image_features=feats,
        ink=ink,
        speech=_speech_or_none(model, split),
        text_features=text_features(model.text, pre, split.texts),
        mels=split.mels,
        presence=torch.from_numpy(split.presence),
        labels=torch.from_numpy(split.labels),
    )
