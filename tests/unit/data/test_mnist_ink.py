"""Real hands for the generated handwriting (``mmtriton.data.mnist_ink``) and their separation
from what the real-data measure counts."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from mmtriton.data import generate, handwriting, mnist_ink, real


def test_the_wheel_holds_five_hundred_distinct_digits_per_class():
    images, labels = mnist_ink.pool()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert len(mnist_ink.fingerprints()) == 5000  # no digit twice, so none is in two splits


def test_training_and_held_out_hands_are_disjoint_and_cover_each_class():
    labels = mnist_ink.pool()[1]
    for digit in range(10):
        train, held = set(mnist_ink._class_rows(digit, False)), set(mnist_ink._class_rows(digit, True))
        assert not train & held and len(train) == mnist_ink.TRAIN_PER_CLASS
        assert train | held == set(np.flatnonzero(labels == digit).tolist())


def test_a_real_hand_is_drawn_centred_at_a_font_digit_height():
    size = 90
    tile = np.asarray(mnist_ink.ink_tile(3, size, np.random.default_rng(0), held_out=False), np.float32)
    assert tile.shape == (2 * size, 2 * size)
    rows, cols = np.nonzero(tile > 128)
    assert abs(rows.mean() - size) < 0.25 * size and abs(cols.mean() - size) < 0.25 * size
    assert 0.4 * size < rows.max() - rows.min() < 1.3 * size


def test_a_real_hand_goes_through_the_paper_and_scanner_steps():
    ink = functools.partial(mnist_ink.ink_tile, 0, held_out=True)
    rgb = np.asarray(handwriting.render_handwritten(ink, np.random.default_rng(5)), np.float32)
    grey = rgb.mean(axis=2)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).mean()
    assert border > grey.mean() and (grey < border - 60).mean() > 0.002  # dark ink on lighter paper


def test_the_generator_draws_real_hands_at_the_planned_share():
    draws = [generate._ink_mask(4, None, False, np.random.default_rng(s)).func for s in range(1000)]
    share = draws.count(mnist_ink.ink_tile) / len(draws)
    assert abs(share - generate.P_REAL_HAND) < 0.05


def test_the_real_measure_skips_the_digits_the_generator_draws(tmp_path):
    """Two digits per class in the npm layout; excluding one leaves only the other."""
    folder = tmp_path / "src" / "digits"
    folder.mkdir(parents=True)
    for d in range(10):
        ink = np.zeros((2, 28, 28), np.float32)
        ink[0, 4:24, 12:16], ink[1, 12:16, 4:24] = 1.0, 1.0  # a vertical and a horizontal bar
        folder.joinpath(f"{d}.json").write_text('{"data": [' + ",".join(map(str, ink.ravel().tolist())) + "]}")
    vertical = frozenset([np.round(ink[0] * 255).astype(np.uint8).tobytes()])
    kept = real.mnist_digits(tmp_path, per_class=2, exclude=vertical)
    assert kept.labels.tolist() == list(range(10))
    im = np.asarray(Image.open(io.BytesIO(kept.images[0])).convert("L"))
    assert im[28, 14] < 80 and im[14, 28] > 240  # the horizontal bar is what is left
