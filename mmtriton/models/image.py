"""Image tower: ImageNet EfficientNet-Lite0 (ReLU6, no SE: TensorRT friendly) + projection head."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mmtriton.errors import CheckpointError

BACKBONE_NAME = "efficientnet-lite0"
BACKBONE_FEATURES = 1280


def build_backbone(image_size: int, weights: Path | None) -> nn.Module:
    """EfficientNet-Lite0 with static 'same' padding for ``image_size`` and ImageNet weights."""
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(BACKBONE_NAME, image_size=image_size, num_classes=1000)
    if weights is not None:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise CheckpointError(f"EfficientNet-Lite0 weights do not fit: missing={missing} unexpected={unexpected}")
    return net


class ImageEncoder(nn.Module):
    """pixels [B, 3, S, S] -> embedding [B, D]; the backbone stays frozen during training."""

    def __init__(self, image_size: int, embed_dim: int, weights: Path | None, dropout: float = 0.2) -> None:
        super().__init__()
        self.backbone = build_backbone(image_size, weights)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(BACKBONE_FEATURES, embed_dim))

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Globally pooled backbone features [B, 1280] (cached once per data set in training)."""
        return self.backbone.extract_features(pixels).mean(dim=(2, 3))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixels))
