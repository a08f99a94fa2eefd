"""The towers' embeddings, their fusion, and accuracy over a split.

Validation scores a split three ways every epoch (fused, image alone, audio alone) and the
final evaluation eight ways; the towers (the stroke CNN above all) are the cost, the fusion MLP
is not. ``Scored`` runs the towers once per split and every accuracy then re-runs only the
fusion: a fifth of an epoch's time on the reference data, with the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from mmtriton.models.image import augment_ink
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.training.features import CachedSplit
from mmtriton.training.layout import channels_last

Towers = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def embeddings(model: MultimodalModel, data: CachedSplit, index: np.ndarray,
               gen: Optional[torch.Generator] = None) -> Towers:
    """The three towers' embeddings; with ``gen`` (training) the stroke CNN sees randomly
    moved, scaled and slanted ink."""
    own_audio = model.audio.has_own or data.speech is None
    mel, lengths = data.audio_batch(index) if own_audio else (None, None)
    ink = data.ink[index]
    image = model.image.embed(data.image_features[index], augment_ink(ink, gen) if gen is not None else ink)
    text = model.text.head(data.text_features[index])
    audio = model.audio.embed(mel, lengths, None if data.speech is None else data.speech[index])
    return image, audio, text


def fuse(model: MultimodalModel, towers: tuple[torch.Tensor, ...], presence: torch.Tensor
         ) -> tuple[torch.Tensor, torch.Tensor]:
    return model.fusion(*towers, presence[:, 0:1], presence[:, 1:2], presence[:, 2:3])


@dataclass(frozen=True)
class Scored:
    """One split's tower embeddings in eval mode, for as many accuracies as are asked of it."""

    model: MultimodalModel
    towers: Towers
    presence: torch.Tensor
    labels: torch.Tensor

    @classmethod
    @torch.no_grad()
    def of(cls, model: MultimodalModel, data: CachedSplit, batch: int = 256) -> "Scored":
        model.eval()
        with channels_last(model.image.strokes):
            parts = [embeddings(model, data, np.arange(s, min(s + batch, len(data)))) for s in range(0, len(data), batch)]
        towers = tuple(torch.cat(p) for p in zip(*parts)) if parts else tuple(torch.zeros(0) for _ in range(3))
        return cls(model, towers, data.presence, data.labels)

    @torch.no_grad()
    def accuracy(self, mask: Optional[torch.Tensor] = None, index: Optional[np.ndarray] = None) -> float:
        """Fused accuracy over ``index`` (all samples by default); ``mask`` [3] keeps only some
        modalities (absent ones stay absent)."""
        index = np.arange(len(self.labels)) if index is None else np.asarray(index, dtype=np.int64)
        if not len(index):
            return 0.0
        self.model.eval()
        presence = self.presence[index] * (mask if mask is not None else 1.0)
        logits, _ = fuse(self.model, tuple(t[index] for t in self.towers), presence)
        return int((logits.argmax(dim=1) == self.labels[index]).sum()) / len(index)

    def alone(self, column: int, index: Optional[np.ndarray] = None) -> float:
        """One modality alone (0 image, 1 audio, 2 text) over the samples of ``index`` that have it."""
        has = torch.nonzero(self.presence[:, column] > 0).reshape(-1).numpy()
        if index is not None:
            has = np.intersect1d(has, index)
        return self.accuracy(torch.nn.functional.one_hot(torch.tensor(column), 3).float(), has)


def accuracy(model: MultimodalModel, data: CachedSplit, mask: Optional[torch.Tensor] = None) -> float:
    """Fused accuracy; ``mask`` [3] keeps only some modalities (absent ones stay absent)."""
    return Scored.of(model, data).accuracy(mask)
