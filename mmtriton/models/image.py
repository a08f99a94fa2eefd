"""Image tower: ImageNet EfficientNet-Lite0 (ReLU6, no SE: TensorRT friendly) beside a small
stroke CNN, then a projection head.

Frozen ImageNet features describe printed glyphs well and handwriting badly. The stroke CNN
sees a 32 x 32 grey view made independent of paper, ink colour and polarity, centred and sized
by the ink's moments (so a tight scan and a small digit on a page look alike), and is trained
on the rendered digits with random scale, rotation, slant and shift: that is what carries over
to real handwriting.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mmtriton.errors import CheckpointError

BACKBONE_NAME = "efficientnet-lite0"
BACKBONE_FEATURES = 1280
STROKE_SIZE, STROKE_FEATURES = 32, 128
# Moment normalisation of the ink map (centre_ink): a pixel counts as ink above INK_FLOOR of the
# ink's contrast (the level of its darkest 1/INK_TAIL of pixels), so paper grain, JPEG noise and
# uneven light do not pull the centre; the ink's spread lands at INK_SPREAD of the half-width,
# about MNIST's 20 px digit in 28; zoom stays within ZOOM_RANGE.
INK_FLOOR, INK_TAIL, INK_SPREAD, ZOOM_RANGE = 0.45, 1000, 0.38, (0.08, 2.0)
# Training's coarse scans (coarsen_ink): the share of maps, and the sides they are averaged to; the
# digit spans about 3/4 of the map, so 8-16 pixels a side leave it 6-12 pixels tall.
COARSE_SHARE, COARSE_SIDES = 0.12, (8, 10, 12, 16)
BLOCKY_SHARE = 0.5  # of those: enlarged in square blocks (a nearest filter), the rest smoothly


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


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class StrokeNet(nn.Module):
    """A 32 x 32 ink map -> [B, STROKE_FEATURES]; ``ink`` makes that map from the pixels."""

    def __init__(self, image_size: int) -> None:
        super().__init__()
        self.pool = max(1, image_size // STROKE_SIZE)
        self.net = nn.Sequential(_block(1, 32), _block(32, 32), nn.MaxPool2d(2), _block(32, 64), _block(64, 64),
                                 nn.MaxPool2d(2), _block(64, STROKE_FEATURES), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def ink(self, pixels: torch.Tensor) -> torch.Tensor:
        """How far each pixel is from the paper towards the ink (``ink_distance``), in units of
        the image's own spread: the same map for black on white, white on black or blue on grey.
        Then centred and scaled by its moments (``centre_ink``)."""
        distance = ink_distance(pixels.mean(dim=1, keepdim=True))
        distance = distance / (distance.flatten(1).std(dim=1).reshape(-1, 1, 1, 1) + 1e-3)
        # a blur as wide as the pooling it replaces, so a thin stroke survives being sampled down
        blur = self.pool | 1
        return centre_ink(nn.functional.avg_pool2d(distance, blur, 1, blur // 2, count_include_pad=False))

    def forward(self, ink: torch.Tensor) -> torch.Tensor:
        return self.net(ink)


def _median(values: torch.Tensor) -> torch.Tensor:
    """[B, 1, N] -> [B, 1, 1]: the middle of the sorted values, as a TopK (what ONNX and
    TensorRT have)."""
    return torch.topk(values, values.shape[2] // 2 + 1, dim=2).values[:, :, -1:]


def _tail(flat: torch.Tensor, side: int) -> torch.Tensor:
    """[B, N] -> [B]: the value INK_TAIL of the way into the top (``side`` 1) or the bottom
    (``side`` -1) of each row: the ink's level, with a lone speck or a hot pixel ignored."""
    k = max(1, flat.shape[1] // INK_TAIL)
    return side * torch.topk(side * flat, k, dim=1).values[:, -1]


def ink_distance(grey: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W] grey -> how far each pixel lies beyond the paper on the ink's side.

    The paper is the border's median (a digit cropped tight touches the border, but less than
    half of it). The ink's side is the one whose tail lies further from the paper: dark ink on
    a page, light chalk on a board. Paper lit unevenly (a phone's vignette, a lamp to one side)
    then only counts where it is darker than the border, and ``centre_ink`` weighs pixels
    against the ink's own contrast, so a ramp weaker than the ink does not move the digit."""
    border = torch.cat([grey[:, :, 0], grey[:, :, -1], grey[:, :, :, 0], grey[:, :, :, -1]], dim=2)
    paper = _median(border).reshape(-1, 1, 1, 1)
    flat = grey.flatten(1)
    dark = paper.reshape(-1) - _tail(flat, -1) >= _tail(flat, 1) - paper.reshape(-1)
    side = torch.where(dark, -1.0, 1.0).reshape(-1, 1, 1, 1)
    return torch.relu(side * (grey - paper))


def centre_ink(distance: torch.Tensor) -> torch.Tensor:
    """[B, 1, S, S] ink -> [B, 1, 32, 32], the ink's centre of mass in the middle and its spread
    (the larger of the two axes' standard deviations) at INK_SPREAD of the half-width.

    Real handwriting comes cropped tight (a scanned form's box, MNIST's 20 px in 28) or small on
    a page; a rendered digit anywhere and at any size. After this, where a digit lies and how big
    it is stop mattering, as in MNIST's own centring; its aspect and slant are kept."""
    b, _, h, w = distance.shape
    weight = torch.relu(distance - INK_FLOOR * _tail(distance.flatten(1), 1).reshape(-1, 1, 1, 1))
    total = weight.sum(dim=(1, 2, 3)) + 1e-3
    ys = torch.linspace(-1.0, 1.0, h, device=distance.device).reshape(1, 1, h, 1)
    xs = torch.linspace(-1.0, 1.0, w, device=distance.device).reshape(1, 1, 1, w)
    cy, cx = (weight * ys).sum(dim=(1, 2, 3)) / total, (weight * xs).sum(dim=(1, 2, 3)) / total
    vy = (weight * (ys - cy.reshape(-1, 1, 1, 1)) ** 2).sum(dim=(1, 2, 3)) / total
    vx = (weight * (xs - cx.reshape(-1, 1, 1, 1)) ** 2).sum(dim=(1, 2, 3)) / total
    zoom = torch.clamp(torch.sqrt(torch.maximum(vy, vx) + 1e-6) / INK_SPREAD, ZOOM_RANGE[0], ZOOM_RANGE[1])
    zero = torch.zeros_like(zoom)
    theta = torch.stack([torch.stack([zoom, zero, cx], dim=1), torch.stack([zero, zoom, cy], dim=1)], dim=1)
    grid = nn.functional.affine_grid(theta, [b, 1, STROKE_SIZE, STROKE_SIZE], align_corners=True)
    return nn.functional.grid_sample(distance, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def augment_ink(ink: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Training only: random scale (0.85-1.15), rotation (+-11 deg), slant and shift (15 %),
    then now and then a coarse scan (``coarsen_ink``)."""
    n = ink.shape[0]
    u = lambda lo, hi, *shape: torch.rand(*(shape or (n,)), generator=gen) * (hi - lo) + lo  # noqa: E731
    scale, turn = u(0.85, 1.15), u(-0.2, 0.2)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = scale * torch.cos(turn), -scale * torch.sin(turn) + u(-0.2, 0.2)
    theta[:, 1, 0], theta[:, 1, 1] = scale * torch.sin(turn), scale * torch.cos(turn)
    theta[:, :, 2] = u(-0.15, 0.15, n, 2)
    grid = nn.functional.affine_grid(theta, list(ink.shape), align_corners=False)
    return coarsen_ink(nn.functional.grid_sample(ink, grid, align_corners=False), gen)


def coarsen_ink(ink: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Training only: a COARSE_SHARE of the maps averaged down to COARSE_SIDES pixels a side and
    enlarged again, as a coarse scan's digit arrives (UCI's optical digits are 8 x 8): smoothly,
    or for BLOCKY_SHARE of them in square blocks, as ``np.kron``, ``np.repeat`` or a nearest
    filter enlarge a tiny scan (without these, scikit-learn's digits so enlarged scored 0.871 and
    smoothly 0.907; with them 0.903 / 0.922 and 0.901 / 0.917, seeds 0 / 1).

    The generated data has coarse scans too, but few of each style; here every epoch shows
    every image coarse now and then."""
    n = ink.shape[0]
    sides = torch.tensor(COARSE_SIDES)[torch.randint(len(COARSE_SIDES), (n,), generator=gen)]
    coarse = torch.rand(n, generator=gen) < COARSE_SHARE
    blocky = torch.rand(n, generator=gen) < BLOCKY_SHARE
    out = ink.clone()
    for side in COARSE_SIDES:
        for chosen, enlarge in ((coarse & ~blocky, _SMOOTHLY), (coarse & blocky, _IN_BLOCKS)):
            pick = torch.nonzero(chosen & (sides == side)).reshape(-1)
            if len(pick):
                small = nn.functional.interpolate(ink[pick], size=(side, side), mode="area")
                out[pick] = nn.functional.interpolate(small, size=ink.shape[-2:], **enlarge)
    return out


_SMOOTHLY, _IN_BLOCKS = {"mode": "bilinear", "align_corners": False}, {"mode": "nearest"}


class ImageEncoder(nn.Module):
    """pixels [B, 3, S, S] -> embedding [B, D]; the backbone stays frozen during training.

    ``backbone=False`` leaves EfficientNet out (the reference model): on rendered training
    digits its features are a shortcut that real handwriting does not follow (benchmarks/
    tower_ablation.py on generator 7's data: scikit-learn's digits 0.61 with both paths, 0.69
    with the backbone dropped half the time, 0.88 with strokes alone; MNIST 0.93, 0.96, 0.97).
    A user's own photos are the other way round."""

    def __init__(self, image_size: int, embed_dim: int, weights: Path | None, dropout: float = 0.2,
                 backbone: bool = True) -> None:
        super().__init__()
        self.backbone = build_backbone(image_size, weights) if backbone else None
        self.strokes = StrokeNet(image_size)
        width = (BACKBONE_FEATURES if backbone else 0) + STROKE_FEATURES
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, embed_dim))

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Globally pooled backbone features [B, 1280], or [B, 0] without a backbone (cached
        once per data set in training)."""
        if self.backbone is None:
            return pixels.new_zeros(pixels.shape[0], 0)
        return self.backbone.extract_features(pixels).mean(dim=(2, 3))

    def embed(self, features: torch.Tensor, ink: torch.Tensor) -> torch.Tensor:
        strokes = self.strokes(ink)
        return self.head(strokes if self.backbone is None else torch.cat([features, strokes], dim=1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        ink = self.strokes.ink(pixels)
        if self.backbone is None:
            return self.head(self.strokes(ink))
        return self.embed(self.features(pixels), ink)
