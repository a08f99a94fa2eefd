"""The training loop (seed §3.3-3.4): cross-entropy, Adam or SGD, modality dropout, validation
every epoch, early stopping on validation accuracy, best weights kept."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from mmtriton.models.multimodal import MultimodalModel
from mmtriton.spec.modality import MODALITIES
from mmtriton.spec.modality import SUBSETS as SPEC_SUBSETS
from mmtriton.training.features import CachedSplit

log = logging.getLogger(__name__)


def _presence_patterns() -> torch.Tensor:
    """The spec's modality subsets as presence rows (image, audio, text), in the order the
    reference model was trained with (ascending as binary numbers: the random draw depends on it)."""
    rows = sorted(([int(m in subset) for m in MODALITIES] for subset in SPEC_SUBSETS),
                  key=lambda r: int("".join(map(str, r)), 2))
    return torch.tensor(rows, dtype=torch.float32)


# The non-empty modality subsets that modality dropout samples from.
SUBSETS = _presence_patterns()


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    weight_decay: float = 1e-4
    patience: int = 5
    modality_dropout: float = 0.5
    seed: int = 0


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = -1


def forward(model: MultimodalModel, data: CachedSplit, index: np.ndarray, presence: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Fusion logits and fused embeddings for the given samples and presence flags."""
    mel, lengths = data.audio_batch(index)
    image = model.image.head(data.image_features[index])
    text = model.text.head(data.text_features[index])
    audio = model.audio(mel, lengths)
    return model.fusion(image, audio, text, presence[:, 0:1], presence[:, 1:2], presence[:, 2:3])


def drop_modalities(presence: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    """For a ``rate`` share of samples keep only a random non-empty subset of what is present."""
    subset = SUBSETS[torch.randint(0, len(SUBSETS), (presence.shape[0],), generator=gen)]
    chosen = torch.rand(presence.shape[0], generator=gen) < rate
    dropped = presence * subset
    keep_natural = ~chosen | (dropped.sum(dim=1) == 0)
    return torch.where(keep_natural.unsqueeze(1), presence, dropped)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def train_mode(model: MultimodalModel) -> None:
    """Heads, audio tower and fusion train; the frozen backbones stay in eval mode."""
    model.train()
    model.image.backbone.eval()
    model.text.backbone.eval()


def run_epoch(model: MultimodalModel, data: CachedSplit, opt: torch.optim.Optimizer, cfg: TrainConfig,
              rng: np.random.Generator, gen: torch.Generator) -> float:
    train_mode(model)
    order = rng.permutation(len(data))
    losses = []
    for start in range(0, len(order), cfg.batch_size):
        index = order[start:start + cfg.batch_size]
        presence = drop_modalities(data.presence[index], cfg.modality_dropout, gen)
        logits, _ = forward(model, data, index, presence)
        loss = nn.functional.cross_entropy(logits, data.labels[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return float(np.mean(losses))


@torch.no_grad()
def accuracy(model: MultimodalModel, data: CachedSplit, mask: Optional[torch.Tensor] = None, batch: int = 256) -> float:
    """Fused accuracy; ``mask`` [3] keeps only some modalities (absent ones stay absent)."""
    model.eval()
    correct = 0
    for start in range(0, len(data), batch):
        index = np.arange(start, min(start + batch, len(data)))
        presence = data.presence[index] * (mask if mask is not None else 1.0)
        logits, _ = forward(model, data, index, presence)
        correct += int((logits.argmax(dim=1) == data.labels[index]).sum())
    return correct / max(1, len(data))


def fit(model: MultimodalModel, train: CachedSplit, val: CachedSplit, cfg: TrainConfig,
        on_epoch: Callable[[int, float, float], None] | None = None) -> History:
    """Train until validation accuracy stops improving for ``patience`` epochs; keep the best weights."""
    torch.manual_seed(cfg.seed)
    rng, gen = np.random.default_rng(cfg.seed), torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    history, best_state, best = History(), None, -1.0
    for epoch in range(cfg.epochs):
        history.train_loss.append(run_epoch(model, train, opt, cfg, rng, gen))
        sched.step()
        history.val_accuracy.append(accuracy(model, val))
        if on_epoch:
            on_epoch(epoch, history.train_loss[-1], history.val_accuracy[-1])
        if history.val_accuracy[-1] > best:
            best, history.best_epoch, best_state = history.val_accuracy[-1], epoch, copy.deepcopy(model.trainable_state())
        elif epoch - history.best_epoch >= cfg.patience:
            log.info("early stop at epoch %d (best %d: %.4f)", epoch, history.best_epoch, best)
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    return history
