"""Template captions. Some name the digit (in words or numerals), others are neutral, so text
alone cannot solve the task."""

from __future__ import annotations

import numpy as np

from mmtriton.spec.presets import CLASS_NAMES

NAMING = (
    "a photo of the number {word}", "the digit {num} written on a card", "someone says {word}",
    "this is a {word}", "handwritten style {num}", "the label reads {word}",
    "a sign showing {num}", "number {word} in a random font", "an image of {word}",
    "spoken digit {word} with background noise", "{word}", "the answer is {num}",
)
NEUTRAL = (
    "a photo of a digit", "a number written on a card", "someone says a number",
    "a sample from the collection", "a digit in a random font", "an image and a short recording",
    "what number is this", "a noisy recording of a voice", "a picture with some text on it",
    "scanned page fragment", "example item", "a card on a table",
)


def caption(digit: int, informative: bool, rng: np.random.Generator) -> str:
    """A caption that names ``digit`` when ``informative``, else a neutral one."""
    if not informative:
        return str(rng.choice(NEUTRAL))
    template = str(rng.choice(NAMING))
    return template.format(word=CLASS_NAMES[digit], num=digit)
