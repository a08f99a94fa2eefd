"""Audio tower trained from scratch: masked conv front end + Transformer over log-mel frames.

A clip's embedding must not depend on how much padding its batch added, so activations are
re-masked after every conv (padding otherwise leaks in through the next kernel), attention
ignores padded keys and pooling averages valid frames only.
"""

from __future__ import annotations

import math

import torch
from torch import nn

KERNEL, STRIDE = 5, 2
# Typical range of natural-log mel energies (floor log(1e-6) = -13.8, loud speech ~ +5).
LOG_MEL_CENTER, LOG_MEL_SCALE = -6.0, 4.0


def conv_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Valid output frames of a stride-2, kernel-5, padding-2 conv for each input length."""
    return torch.div(lengths - 1, STRIDE, rounding_mode="floor") + 1


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, T] bool, True for real frames."""
    return torch.arange(frames, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def sinusoid_table(max_len: int, dim: int) -> torch.Tensor:
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(max_len, dim)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return table


class MelScale(nn.Module):
    """Fixed centring/scaling plus a learned per-mel affine.

    Not a per-frame LayerNorm: silent frames are constant across mel bins, and normalising a
    constant vector divides rounding noise by sqrt(eps), so ONNX Runtime and PyTorch drifted
    apart by 7e-4 on clips with digital silence.
    """

    def __init__(self, n_mels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_mels))
        self.bias = nn.Parameter(torch.zeros(n_mels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - LOG_MEL_CENTER) / LOG_MEL_SCALE * self.weight + self.bias


class AudioEncoder(nn.Module):
    """(log_mel [B, T, n_mels], lengths [B, 1] int32) -> embedding [B, D]."""

    def __init__(self, n_mels: int, embed_dim: int, max_frames: int, d_model: int = 96,
                 layers: int = 2, heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.in_norm = MelScale(n_mels)
        self.convs = nn.ModuleList([nn.Conv1d(n_mels, d_model, KERNEL, STRIDE, KERNEL // 2),
                                    nn.Conv1d(d_model, d_model, KERNEL, STRIDE, KERNEL // 2)])
        self.register_buffer("positions", sinusoid_table(max_frames // 4 + 2, d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(d_model)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_model, embed_dim))

    def forward(self, log_mel: torch.Tensor, mel_length: torch.Tensor) -> torch.Tensor:
        lengths = mel_length.reshape(-1).long()
        mask = frame_mask(lengths, log_mel.shape[1])
        x = (self.in_norm(log_mel) * mask.unsqueeze(-1)).transpose(1, 2)
        for conv in self.convs:
            x = torch.relu(conv(x))
            lengths = conv_lengths(lengths)
            mask = frame_mask(lengths, x.shape[2])
            x = x * mask.unsqueeze(1)
        x = x.transpose(1, 2) + self.positions[: x.shape[2]]
        x = self.out_norm(self.transformer(x, src_key_padding_mask=~mask))
        keep = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)
