"""The whole reference model: three towers + fusion, built from a spec graph."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from mmtriton.models.audio import AudioEncoder
from mmtriton.models.fusion import FusionHead
from mmtriton.models.image import ImageEncoder
from mmtriton.models.speech_embedding import load_weights
from mmtriton.models.text import TextEncoder
from mmtriton.spec.graph import ModelGraph

FROZEN_PREFIXES = ("image.backbone.", "text.backbone.", "audio.speech.embedding.")


@dataclass(frozen=True)
class Sources:
    """Where the pretrained towers are loaded from (recorded in every checkpoint)."""

    text_model: str
    image_weights: str | None
    speech_weights: str | None = None  # None: the audio tower has no speech-embedding path
    # The paths trained on the data alone: the reference model leaves both out, since on
    # synthetic data they learn the synthesiser and the renderer (mmtriton.training.run).
    image_backbone: bool = True
    audio_own: bool = True


class MultimodalModel(nn.Module):
    def __init__(self, graph: ModelGraph, sources: Sources) -> None:
        super().__init__()
        p = graph.preset
        from pathlib import Path

        weights = Path(sources.image_weights) if sources.image_weights else None
        frames = graph.frames.max
        self.image = ImageEncoder(p.image.size, p.embed_dim, weights, backbone=sources.image_backbone)
        self.audio = AudioEncoder(p.audio.n_mels, p.embed_dim, frames, speech=sources.speech_weights is not None,
                                  own=sources.audio_own or sources.speech_weights is None)
        if sources.speech_weights is not None:
            load_weights(self.audio.speech.embedding, Path(sources.speech_weights))
        self.text = TextEncoder(sources.text_model, p.embed_dim)
        self.fusion = FusionHead(p.embed_dim, p.fused_dim, len(graph.class_names))
        for name, param in self.named_parameters():
            param.requires_grad = not name.startswith(FROZEN_PREFIXES)

    def trainable_state(self) -> dict:
        """Weights that training changed; the frozen pretrained backbones are reloaded from their source."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith(FROZEN_PREFIXES)}
