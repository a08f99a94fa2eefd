"""Captions: informative ones name their digit and no other, neutral ones none, the held-out
split's phrasings are not training's, and no caption is cut by the token limit."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmtriton.data import captions
from mmtriton.spec import CLASS_NAMES

WORDS = "|".join(CLASS_NAMES)


def _named(text: str) -> set[int]:
    """Every digit a caption names, as a word or as a lone numeral (2019 names none)."""
    lowered = text.lower()
    words = {CLASS_NAMES.index(w) for w in re.findall(rf"\b({WORDS})\b", lowered)}
    return words | {int(d) for d in re.findall(r"(?<![\d.,:])\d(?![\d.,:]?\d)", lowered)}


def _skeleton(text: str) -> str:
    """The phrasing around the digit: lower case, the digit's word or numeral gone."""
    lowered = re.sub(rf"\b({WORDS})\b|(?<!\d)\d(?!\d)", "#", text.lower())
    return re.sub(r"[#'()\s]+", " ", lowered).strip()


def _draw(held_out: bool, informative: bool, n: int = 400, seed: int = 0) -> list[tuple[int, str]]:
    rng = np.random.default_rng(seed)
    return [(i % 10, captions.caption(i % 10, informative, rng, held_out)) for i in range(n)]


def test_the_probe_sees_digits_hidden_in_phrases():
    assert _named("quick one: 7") == {1, 7}
    assert _named("Taken in 2019, page 12") == set()
    assert _named("no. 4!") == {4}


@pytest.mark.parametrize("held_out", [False, True])
def test_informative_captions_name_their_digit_and_no_other(held_out):
    for digit, text in _draw(held_out, True):
        assert _named(text) == {digit}, text


@pytest.mark.parametrize("held_out", [False, True])
def test_neutral_captions_name_no_digit(held_out):
    for _, text in _draw(held_out, False):
        assert _named(text) == set(), text


def test_held_out_phrasings_never_occur_in_training():
    train = {_skeleton(t) for informative in (True, False) for _, t in _draw(False, informative, 3000)}
    held = {_skeleton(t) for informative in (True, False) for _, t in _draw(True, informative, 1000, seed=1)}
    assert not train & held, sorted(train & held)[:5]


def test_the_disjointness_probe_fails_when_a_frame_is_shared(monkeypatch):
    monkeypatch.setattr(captions, "HELD_OUT_FRAMES", captions.FRAMES[:3])
    train = {_skeleton(t) for _, t in _draw(False, True, 3000)}
    assert train & {_skeleton(t) for _, t in _draw(True, True, 1000, seed=1)}


def test_captions_are_varied_not_a_handful_of_templates():
    texts = [t for _, t in _draw(False, True, 500)]
    assert len(set(texts)) > 0.9 * len(texts)
    assert len({_skeleton(t) for t in texts}) > 200


def test_a_typo_changes_one_long_word_and_leaves_the_slot():
    rng = np.random.default_rng(3)
    frame = "someone wrote {} on the whiteboard"
    for _ in range(50):
        slipped = captions.typo(frame, rng)
        changed = [(a, b) for a, b in zip(frame.split(" "), slipped.split(" ")) if a != b]
        assert "{}" in slipped and len(changed) == 1 and len(changed[0][0]) >= 4
    assert captions.typo("a {} on it", rng) == "a {} on it"


def test_no_caption_is_truncated_by_the_token_limit(preprocessor):
    texts = [t for h in (False, True) for inf in (True, False) for _, t in _draw(h, inf, 1000)]
    _, mask = preprocessor.text(texts)
    assert int(mask.sum(axis=1).max()) < preprocessor.graph.preset.text.max_tokens
