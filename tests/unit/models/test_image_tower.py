"""The stroke CNN's input: one ink map whatever the paper, the ink colour or the polarity."""

from __future__ import annotations

import numpy as np
import torch

from mmtriton.models.image import BLOCKY_SHARE, COARSE_SHARE, COARSE_SIDES, STROKE_SIZE, StrokeNet, augment_ink, coarsen_ink
from mmtriton.preprocess.image import normalise


def _pixels(graph, grey: np.ndarray, ink_rgb, paper_rgb) -> torch.Tensor:
    """A digit-like mask as an RGB picture, through the shared normalisation."""
    rgb = paper_rgb * (1 - grey[..., None]) + np.asarray(ink_rgb) * grey[..., None]
    return torch.from_numpy(normalise(rgb.astype(np.uint8), graph.preset.image))[None]


def _mask(size: int) -> np.ndarray:
    m = np.zeros((size, size), np.float32)
    m[size // 5: size * 4 // 5, size // 2 - 4: size // 2 + 4] = 1.0
    m[size // 5: size // 5 + 8, size // 3: size // 2] = 1.0
    return m


def test_ink_is_the_same_for_black_on_white_white_on_black_and_blue_on_grey(graph):
    size = graph.preset.image.size
    net, mask = StrokeNet(size), _mask(size)
    maps = [net.ink(_pixels(graph, mask, ink, np.asarray(paper, np.float32)))
            for ink, paper in (((0, 0, 0), (255, 255, 255)), ((255, 255, 255), (0, 0, 0)),
                               ((30, 40, 160), (190, 190, 200)))]
    assert maps[0].shape == (1, 1, STROKE_SIZE, STROKE_SIZE)
    for other in maps[1:]:
        assert torch.max(torch.abs(maps[0] - other)).item() < 0.05 * maps[0].max().item()
    assert maps[0][0, 0, 16, 16] > maps[0][0, 0, 2, 2] + 1.0  # the stroke stands out, the paper does not


def test_augmentation_is_seeded_and_keeps_the_ink():
    ink = torch.zeros(4, 1, STROKE_SIZE, STROKE_SIZE)
    ink[:, :, 8:24, 14:18] = 1.0
    a = augment_ink(ink, torch.Generator().manual_seed(1))
    b = augment_ink(ink, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == ink.shape
    assert not torch.equal(a, ink)
    kept = a.sum(dim=(1, 2, 3)) / ink.sum(dim=(1, 2, 3))
    assert torch.all((kept > 0.6) & (kept < 1.5))


def test_a_share_of_the_maps_is_coarsened_and_loses_its_fine_detail():
    """A one-pixel checkerboard survives untouched or is averaged to a flat grey: nothing between."""
    board = (torch.arange(STROKE_SIZE)[:, None] + torch.arange(STROKE_SIZE)[None, :]) % 2
    ink = board.float().expand(2000, 1, STROKE_SIZE, STROKE_SIZE)
    out = coarsen_ink(ink, torch.Generator().manual_seed(0))
    assert torch.equal(out, coarsen_ink(ink, torch.Generator().manual_seed(0)))
    changed = (out - ink).abs().flatten(1).max(dim=1).values > 0
    assert abs(changed.float().mean().item() - COARSE_SHARE) < 0.04
    spread = out[changed].flatten(1).std(dim=1)
    assert spread.max() < 0.1 * ink[0].std()  # the board is gone
    assert torch.allclose(out[changed].flatten(1).mean(dim=1), torch.tensor(0.5), atol=0.05)  # its ink is not
    assert torch.equal(out[~changed], ink[~changed])


def test_some_coarse_maps_come_back_in_square_blocks_the_others_smooth():
    """A blocky map holds at most (largest side)^2 distinct values, a smoothly enlarged one
    nearly one per pixel; about BLOCKY_SHARE of the coarse maps are blocky."""
    ink = torch.rand(4000, 1, STROKE_SIZE, STROKE_SIZE, generator=torch.Generator().manual_seed(3))
    out = coarsen_ink(ink, torch.Generator().manual_seed(0))
    changed = torch.nonzero((out - ink).abs().flatten(1).max(dim=1).values > 0).reshape(-1)
    distinct = torch.tensor([len(torch.unique(out[i])) for i in changed])
    blocky = distinct <= max(COARSE_SIDES) ** 2
    assert torch.all(blocky | (distinct > STROKE_SIZE ** 2 // 2))  # nothing in between
    assert blocky.any() and not blocky.all()
    assert abs(blocky.float().mean().item() - BLOCKY_SHARE) < 0.08


def _placed(size: int, scale: float, dx: int, dy: int) -> np.ndarray:
    """The _mask digit scaled by ``scale`` about its centre and moved by (dx, dy) pixels."""
    from PIL import Image

    tile = Image.fromarray((_mask(size) * 255).astype(np.uint8)).resize((int(size * scale),) * 2, Image.BILINEAR)
    out = np.zeros((size, size), np.float32)
    x0, y0 = (size - tile.width) // 2 + dx, (size - tile.height) // 2 + dy
    out[y0:y0 + tile.height, x0:x0 + tile.width] = np.asarray(tile, np.float32) / 255
    return out


def test_ink_is_the_same_wherever_the_digit_lies_and_whatever_its_size(graph):
    """A digit filling the frame (a tight scan) and the same digit at 40 % in a corner (a
    photo of a page) give one map; the frames themselves, pooled as they come, do not."""
    size = graph.preset.image.size
    net = StrokeNet(size)
    paper = np.asarray((250, 248, 240), np.float32)
    big, small = (_pixels(graph, _placed(size, s, dx, dy), (20, 20, 20), paper)
                  for s, dx, dy in ((1.0, 0, 0), (0.4, -size // 4, size // 5)))
    a, b = net.ink(big), net.ink(small)
    assert torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.9
    pooled = [torch.nn.functional.adaptive_avg_pool2d(x.mean(dim=1, keepdim=True), STROKE_SIZE) for x in (big, small)]
    assert torch.corrcoef(torch.stack([p.flatten() for p in pooled]))[0, 1] < 0.5  # the probe can tell them apart


def test_a_blank_page_gives_a_finite_empty_map(graph):
    size = graph.preset.image.size
    blank = _pixels(graph, np.zeros((size, size), np.float32), (0, 0, 0), np.full(3, 230, np.float32))
    ink = StrokeNet(size).ink(blank)
    assert torch.isfinite(ink).all() and ink.abs().max().item() < 1e-3


def _lit(graph, mask: np.ndarray, light: np.ndarray) -> torch.Tensor:
    """Dark ink on white paper under ``light`` (per-pixel brightness, 1 = full)."""
    rgb = (255 * (1 - mask[..., None]) + 20 * mask[..., None]) * light[..., None]
    return torch.from_numpy(normalise(rgb.astype(np.uint8), graph.preset.image))[None]


def _plain_centre(pixels: torch.Tensor) -> np.ndarray:
    """The centre of mass of each pixel's distance from the border's grey (no polarity, no floor)."""
    grey = pixels.mean(dim=1)[0].numpy()
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    d = np.abs(grey - np.median(border))
    ys, xs = np.mgrid[-1:1:grey.shape[0] * 1j, -1:1:grey.shape[1] * 1j]
    return np.asarray([(d * ys).sum(), (d * xs).sum()]) / d.sum()


def test_ink_is_the_same_under_a_lamp_to_one_side_and_a_phone_vignette(graph):
    """A small digit on a page lit from one side, or darkened towards the corners, gives the
    map it gives on evenly lit paper. The probe: the light moves a plain centre of mass of the
    distance from the paper's grey far off the digit."""
    size = graph.preset.image.size
    net, mask = StrokeNet(size), _placed(size, 0.3, size // 5, -size // 6)
    ys, xs = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    flat = _lit(graph, mask, np.ones((size, size)))
    even = net.ink(flat)
    for light in (1 - 0.15 * (xs + 1), 1 - 0.35 * (xs ** 2 + ys ** 2) / 2):
        pixels = _lit(graph, mask, light)
        assert torch.corrcoef(torch.stack([even.flatten(), net.ink(pixels).flatten()]))[0, 1] > 0.9
        assert np.abs(_plain_centre(pixels) - _plain_centre(flat)).max() > 0.2
