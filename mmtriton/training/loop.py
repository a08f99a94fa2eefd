"""The training loop (seed §3.3-3.4): cross-entropy, Adam or SGD, modality dropout, validation
every epoch, early stopping on a validation score (fused and single-tower accuracy), best weights kept."""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from mmtriton.models.multimodal import MultimodalModel
from mmtriton.spec.modality import MODALITIES
from mmtriton.spec.modality import SUBSETS as SPEC_SUBSETS
from mmtriton.training.features import CachedSplit
from mmtriton.training.layout import channels_last
from mmtriton.training.scoring import Scored, embeddings, fuse

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
    # 24: the cosine schedule over 24 epochs reaches the validation score 32 did (0.933, seed 0,
    # best epoch 21 vs 23) 88 s sooner, and `make demo` must stay within 10 minutes on 2 cores.
    epochs: int = 24
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    weight_decay: float = 1e-4
    patience: int = 8
    modality_dropout: float = 0.5
    single_tower_weight: float = 0.5  # weight of single_tower_loss
    seed: int = 0


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    best_epoch: int = -1  # the epoch whose weights are kept: the latest within top_epoch's standard error
    top_epoch: int = -1  # the epoch with the highest validation score


def standard_error(score: float, samples: int) -> float:
    """An accuracy's standard error on ``samples``: two epochs closer than this are a tie."""
    return math.sqrt(max(score * (1.0 - score), 0.0) / max(samples, 1))


def single_tower_loss(model: MultimodalModel, towers: tuple[torch.Tensor, ...], presence: torch.Tensor,
                      labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the fused model given only the image, and only the audio, of samples
    that have it: users send one modality alone, and modality dropout alone gives each single
    tower a seventh of the dropped half."""
    losses = []
    for column in (0, 1):
        has = torch.nonzero(presence[:, column] > 0).reshape(-1)
        if len(has) > 1:  # BatchNorm in the fusion MLP needs two samples
            alone = torch.zeros(len(has), 3)
            alone[:, column] = 1.0
            logits, _ = fuse(model, tuple(t[has] for t in towers), alone)
            losses.append(nn.functional.cross_entropy(logits, labels[has]))
    return torch.stack(losses).mean() if losses else torch.zeros(())


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
    if model.image.backbone is not None:
        model.image.backbone.eval()
    model.text.backbone.eval()
    if model.audio.speech is not None:
        model.audio.speech.eval()


def run_epoch(model: MultimodalModel, data: CachedSplit, opt: torch.optim.Optimizer, cfg: TrainConfig,
              rng: np.random.Generator, gen: torch.Generator) -> float:
    train_mode(model)
    order = rng.permutation(len(data))
    losses = []
    for start in range(0, len(order), cfg.batch_size):
        index = order[start:start + cfg.batch_size]
        presence = drop_modalities(data.presence[index], cfg.modality_dropout, gen)
        towers = embeddings(model, data, index, gen)
        logits, _ = fuse(model, towers, presence)
        loss = nn.functional.cross_entropy(logits, data.labels[index])
        if cfg.single_tower_weight > 0:
            loss = loss + cfg.single_tower_weight * single_tower_loss(model, towers, data.presence[index], data.labels[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def selection_score(model: MultimodalModel, val: CachedSplit) -> tuple[float, float]:
    """(fused accuracy, what the best epoch is chosen by): the mean of fused accuracy and the
    image-only and audio-only accuracies on samples that have that modality. Fused accuracy alone
    saturates within a few epochs, long before the single towers (which real users send alone)
    are done."""
    scored = Scored.of(model, val)
    fused = scored.accuracy()
    scores = [fused] + [scored.alone(column) for column in (0, 1) if bool((val.presence[:, column] > 0).any())]
    return fused, float(np.mean(scores))


def fit(model: MultimodalModel, train: CachedSplit, val: CachedSplit, cfg: TrainConfig,
        on_epoch: Callable[[int, float, float], None] | None = None) -> History:
    """Train until the validation score stops improving for ``patience`` epochs; keep the
    weights of the latest epoch that ties the top one (within its standard error).

    Why the latest tie and not the top score: the cosine schedule's last epochs take the smallest
    steps, and their weights are the settled ones. Mid-training epochs with a generated-val score
    a few thousandths higher are noise on 600 samples, yet they swing on real handwriting:
    traced per epoch (seeds 0 and 1), scikit-learn's digits read 0.77-0.93 between epochs 12 and
    19 and 0.918-0.919 at the last; the top score chose epochs whose figure was 0.901 / 0.917.
    """
    with channels_last(model.image.strokes):
        return _fit(model, train, val, cfg, on_epoch)


def _fit(model: MultimodalModel, train: CachedSplit, val: CachedSplit, cfg: TrainConfig,
         on_epoch: Callable[[int, float, float], None] | None) -> History:
    torch.manual_seed(cfg.seed)
    rng, gen = np.random.default_rng(cfg.seed), torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    history, kept_state, best = History(), None, -1.0
    for epoch in range(cfg.epochs):
        history.train_loss.append(run_epoch(model, train, opt, cfg, rng, gen))
        sched.step()
        fused, score = selection_score(model, val)
        history.val_accuracy.append(fused)
        history.val_score.append(score)
        if on_epoch:
            on_epoch(epoch, history.train_loss[-1], history.val_accuracy[-1])
        if score > best:
            best, history.top_epoch = score, epoch
        if score >= best - standard_error(best, len(val)):
            history.best_epoch, kept_state = epoch, copy.deepcopy(model.trainable_state())
        if epoch - history.top_epoch >= cfg.patience:
            log.info("early stop at epoch %d (top %d: %.4f)", epoch, history.top_epoch, best)
            break
    if kept_state is not None:
        model.load_state_dict(kept_state, strict=False)
    return history
