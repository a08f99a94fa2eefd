"""Pen-stroke digits in regional styles (``mmtriton.data.strokes``) and the coarse scan of
``mmtriton.data.handwriting``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmtriton.data import generate, handwriting, strokes


def _one_style(monkeypatch, digit: int, index: int) -> None:
    monkeypatch.setitem(strokes.STYLES, digit, (strokes.STYLES[digit][index],))


@pytest.mark.parametrize("digit", range(10))
def test_every_style_draws_its_digit_centred_at_a_font_digit_height(monkeypatch, digit):
    size = 60
    for index in range(len(strokes.STYLES[digit])):
        with monkeypatch.context() as m:
            _one_style(m, digit, index)
            tile = np.asarray(strokes.stroke_ink(digit, size, np.random.default_rng(index)), np.float32)
        assert tile.shape == (2 * size, 2 * size)
        rows, cols = np.nonzero(tile > 128)
        assert abs(rows.mean() - size) < 0.3 * size and abs(cols.mean() - size) < 0.3 * size, (digit, index)
        assert 0.4 * size < rows.max() - rows.min() < 0.75 * size, (digit, index)


def test_the_curve_passes_through_every_control_point():
    points = np.asarray(strokes.STYLES[6][0][0])
    line = strokes.smooth(points)
    gaps = np.linalg.norm(line[None, :, :] - points[:, None, :], axis=2).min(axis=1)
    assert gaps.max() < 1e-9 and len(line) > 5 * len(points)


def test_the_wobble_moves_a_point_the_same_in_every_stroke():
    """Strokes that meet (a 7's bar and stem) still meet after the hand's wobble."""
    move = strokes.wobble(np.random.default_rng(3), 0.06)
    bar, stem = np.asarray(strokes.STYLES[7][0][0]), np.asarray(strokes.STYLES[7][0][1])
    assert np.array_equal(bar[-1], stem[0])
    assert np.allclose(move(bar)[-1], move(stem)[0])
    shift = np.abs(move(bar) - bar)
    assert 0 < shift.max() < 0.25  # it moves, and by a fraction of the digit


def test_a_crossed_seven_has_ink_left_of_its_stem_at_mid_height(monkeypatch):
    """The styles are different drawings, not copies: only the crossed 7 has a bar at mid-height."""
    size, crossed = 60, {}
    for index in (0, 1):
        with monkeypatch.context() as m:
            _one_style(m, 7, index)
            m.setattr(strokes, "wobble", lambda rng, amount: lambda p: p)
            tile = np.asarray(strokes.stroke_ink(7, size, np.random.default_rng(0)), np.float32)
        rows = np.nonzero((tile > 128).any(axis=1))[0]
        mid = (rows.min() + rows.max()) // 2
        middle = tile[mid - 1: mid + 2]
        crossed[index] = int((middle > 128).any(axis=0).sum())
    assert crossed[1] > 2 * crossed[0], crossed


def test_the_generator_draws_each_ink_source_at_its_share():
    draws = [generate._ink_mask(4, None, False, np.random.default_rng(s)).func for s in range(2000)]
    assert abs(draws.count(strokes.stroke_ink) / len(draws) - generate.P_STROKES) < 0.04
    assert abs(draws.count(handwriting.font_ink) / len(draws) - (1 - generate.P_REAL_HAND - generate.P_STROKES)) < 0.04


def _grating_page() -> Image.Image:
    """A light page with a digit-sized patch of one-pixel ink lines two pixels apart."""
    page = np.full((200, 200), 230, np.uint8)
    page[50:150, 60:140:2] = 20
    return Image.fromarray(page, "L").convert("RGB")


def test_a_coarse_scan_cannot_keep_detail_finer_than_its_pixels():
    page = _grating_page()
    before = np.asarray(page.convert("L"), np.float32)[60:140, 70:130].std()
    for seed in range(6):
        after = np.asarray(handwriting.coarse_scan(page, np.random.default_rng(seed)).convert("L"), np.float32)
        assert after.shape == (200, 200)
        assert after[60:140, 70:130].std() < before / 4, seed  # the lines merge into a grey patch
        assert after[60:140, 70:130].mean() < after[:30].mean() - 40  # which is still darker than paper


def test_the_bitmap_threshold_reads_ink_not_shading():
    shade = np.linspace(120, 250, 200, dtype=np.float32)[None, :].repeat(200, axis=0)
    shade[90:110, 20:180] = 10  # a bar of ink across the light and the dark side
    bitmap = np.asarray(handwriting._threshold(Image.fromarray(shade.astype(np.uint8), "L")))
    assert (bitmap[90:110, 20:180] == 0).all()
    assert (bitmap[:60] == 255).mean() > 0.99  # the dark side of the page is paper, not ink
