"""Fusion: concatenation + MLP over the three embeddings, gated by presence flags (seed §3.2).

Absent modalities are zeroed and flagged, and training drops modalities at random, so one
model serves image-only, audio-only, text-only and any combination.
"""

from __future__ import annotations

import torch
from torch import nn


class FusionHead(nn.Module):
    """(three embeddings, three presence flags [B, 1]) -> (logits [B, C], fused embedding [B, F])."""

    def __init__(self, embed_dim: int, fused_dim: int, num_classes: int, hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(3 * embed_dim + 3, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, fused_dim), nn.ReLU(),
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(fused_dim, num_classes))

    def forward(self, image: torch.Tensor, audio: torch.Tensor, text: torch.Tensor,
                image_present: torch.Tensor, audio_present: torch.Tensor, text_present: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([image * image_present, audio * audio_present, text * text_present,
                       image_present, audio_present, text_present], dim=-1)
        fused = self.mlp(x)
        return self.classifier(fused), fused


class FusionServing(nn.Module):
    """What the fusion ONNX graph computes: probabilities and the fused embedding (the label is
    taken by the postprocess model, which also reports input errors)."""

    def __init__(self, head: FusionHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, image: torch.Tensor, audio: torch.Tensor, text: torch.Tensor,
                image_present: torch.Tensor, audio_present: torch.Tensor, text_present: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        logits, fused = self.head(image, audio, text, image_present, audio_present, text_present)
        return torch.softmax(logits, dim=-1), fused
