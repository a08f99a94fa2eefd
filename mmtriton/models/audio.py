"""Audio tower: a masked conv + Transformer over log-mel frames trained from scratch, beside the
frozen speech embedding (``speech_embedding``) pretrained on real human speech.

A clip's embedding must not depend on how much padding its batch added, so activations are
re-masked after every conv (padding otherwise leaks in through the next kernel), attention
ignores padded keys and pooling averages valid frames only. The speech path sees padded frames
as silence and pools only the embeddings whose window lies inside the clip.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mmtriton.models import speech_embedding as se
from mmtriton.models.speech_frontend import DB_FLOOR, GAIN_DB, TOP_DB
from mmtriton.preprocess.audio import LOG_FLOOR

KERNEL, STRIDE = 5, 2
# Silence put before every clip, in mel frames (0.38 s). The speech embedding hears a word well
# only after some silence inside its window; a recording cut tight at the word's onset (as
# spoken-digit sets are) scored 0.5 on a natural voice where 0.3 s of lead silence scored 1.0.
# With the lead, where the recording starts stops mattering.
SPEECH_LEAD = se.WINDOW // 2
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


class SpeechPath(nn.Module):
    """log-mel [B, T, n_mels] -> pooled speech embeddings [B, se.POOLED] (mean and max over the clip).

    ``adaptor`` maps our mel power onto the embedding's 32 bands (``speech_frontend``); it is a
    buffer, filled once by ``training.run.calibrate_speech`` before training and saved with the checkpoint."""

    def __init__(self, n_mels: int) -> None:
        super().__init__()
        self.register_buffer("adaptor", torch.zeros(se.MELS, n_mels))
        self.embedding = se.SpeechEmbedding()

    def frames(self, log_mel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The embedding's input scale; padding and anything 80 dB under the peak is silence, and
        SPEECH_LEAD frames of it come first."""
        log_mel = torch.where(mask.unsqueeze(-1), log_mel, torch.full_like(log_mel, math.log(LOG_FLOOR)))
        power = torch.exp(log_mel) @ self.adaptor.t()
        db = 10.0 / math.log(10.0) * torch.log(torch.clamp(power, min=10 ** ((DB_FLOOR - GAIN_DB) / 10))) + GAIN_DB
        peak = torch.where(mask.unsqueeze(-1), db, torch.full_like(db, DB_FLOOR)).amax(dim=(1, 2), keepdim=True)
        db = torch.where(mask.unsqueeze(-1), torch.maximum(db, peak - TOP_DB), peak - TOP_DB)
        lead = (peak - TOP_DB).expand(-1, SPEECH_LEAD, se.MELS)
        silence = (peak - TOP_DB).expand(-1, se.WINDOW - 1, se.MELS)
        return torch.cat([lead, db, silence], dim=1) / 10.0 + 2.0

    def forward(self, log_mel: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(self.frames(log_mel, mask))  # [B, (T + SPEECH_LEAD - 1) // 8 + 1, 96]
        starts = torch.arange(emb.shape[1], device=emb.device).unsqueeze(0) * se.STRIDE
        # windows that end at most SPEECH_LEAD frames after the clip: as much silence after as before
        inside = (starts + se.WINDOW <= lengths.unsqueeze(1) + 2 * SPEECH_LEAD) | (starts == 0)
        keep = inside.unsqueeze(-1).to(emb.dtype)
        mean = (emb * keep).sum(dim=1) / keep.sum(dim=1)
        peak = torch.where(inside.unsqueeze(-1), emb, torch.full_like(emb, -1e4)).amax(dim=1)
        return torch.cat([mean, peak], dim=1)


class AudioEncoder(nn.Module):
    """(log_mel [B, T, n_mels], lengths [B, 1] int32) -> embedding [B, D]."""

    def __init__(self, n_mels: int, embed_dim: int, max_frames: int, d_model: int = 96,
                 layers: int = 2, heads: int = 4, dropout: float = 0.1, speech: bool = False, own: bool = True) -> None:
        super().__init__()
        if not (speech or own):
            raise ValueError("the audio tower needs the speech path, its own path or both")
        self.has_own = own
        if own:
            self.in_norm = MelScale(n_mels)
            self.convs = nn.ModuleList([nn.Conv1d(n_mels, d_model, KERNEL, STRIDE, KERNEL // 2),
                                        nn.Conv1d(d_model, d_model, KERNEL, STRIDE, KERNEL // 2)])
            self.register_buffer("positions", sinusoid_table(max_frames // 4 + 2, d_model), persistent=False)
            layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True, norm_first=True)
            self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.out_norm = nn.LayerNorm(d_model)
        self.speech = SpeechPath(n_mels) if speech else None
        self.speech_head = nn.Sequential(nn.LayerNorm(se.POOLED), nn.Linear(se.POOLED, 256), nn.ReLU(),
                                         nn.Dropout(dropout), nn.Linear(256, d_model), nn.ReLU()) if speech else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_model * (int(speech) + int(own)), embed_dim))

    def own(self, log_mel: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The from-scratch path: pooled Transformer output [B, d_model]."""
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
        return (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)

    def speech_pooled(self, log_mel: torch.Tensor, mel_length: torch.Tensor) -> torch.Tensor:
        """The frozen speech path's pooled embeddings [B, se.POOLED] (cached once per data set in training)."""
        lengths = mel_length.reshape(-1).long()
        return self.speech(log_mel, lengths, frame_mask(lengths, log_mel.shape[1]))

    def embed(self, log_mel: torch.Tensor, mel_length: torch.Tensor, speech_pooled: torch.Tensor | None) -> torch.Tensor:
        """The embedding from the tower's paths, the speech path's pooled input given (training) or not."""
        parts = [self.own(log_mel, mel_length.reshape(-1).long())] if self.has_own else []
        if self.speech is not None:
            if speech_pooled is None:
                speech_pooled = self.speech_pooled(log_mel, mel_length)
            parts.append(self.speech_head(speech_pooled))
        return self.head(parts[0] if len(parts) == 1 else torch.cat(parts, dim=1))

    def forward(self, log_mel: torch.Tensor, mel_length: torch.Tensor) -> torch.Tensor:
        return self.embed(log_mel, mel_length, None)
