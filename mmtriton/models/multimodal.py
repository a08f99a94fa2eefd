"""The whole reference model: three towers + fusion, built from a spec graph."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from mmtriton.models.audio import AudioEncoder
from mmtriton.models.fusion import FusionHead
from mmtriton.models.image import ImageEncoder
from mmtriton.models.text import TextEncoder
from mmtriton.spec.graph import ModelGraph

FROZEN_PREFIXES = ("image.backbone.", "text.backbone.")


@dataclass(frozen=True)
class Sources:
    """Where the pretrained towers are loaded from (recorded in every checkpoint)."""

    text_model: str
    image_weights: str | None


class MultimodalModel(nn.Module):
    def __init__(self, graph: ModelGraph, sources: Sources) -> None:
        super().__init__()
        p = graph.preset
        from pathlib import Path

        weights = Path(sources.image_weights) if sources.image_weights else None
        frames = graph.frames.max
        self.image = ImageEncoder(p.image.size, p.embed_dim, weights)
        self.audio = AudioEncoder(p.audio.n_mels, p.embed_dim, frames)
        self.text = TextEncoder(sources.text_model, p.embed_dim)
        self.fusion = FusionHead(p.embed_dim, p.fused_dim, len(graph.class_names))
        for name, param in self.named_parameters():
            param.requires_grad = not name.startswith(FROZEN_PREFIXES)

    def trainable_state(self) -> dict:
        """Weights that training changed; the frozen pretrained backbones are reloaded from their source."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith(FROZEN_PREFIXES)}
