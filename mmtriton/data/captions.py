"""Captions the way people write them: a frame from one of several registers (a photo
description, a transcript of what was said, a form's label, a chat message, a file name), a
mention of the digit in one of many forms, optional lead-ins and trailers, casing, end
punctuation and the odd typo. A neutral caption fills the same frame with a vague phrase ("a
number", "no idea"), so the words around the digit carry no label and text alone cannot solve
the task. The held-out split draws from frames, lead-ins and trailers that training never sees,
so the text figure measures phrasings the model did not learn.

An informative caption names only its own digit; numbers in the trailers ("taken in 2019") have
two digits or more, which the tokenizer never splits into a single digit.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mmtriton.spec.presets import CLASS_NAMES

# "n": the slot is a noun phrase ("a photo of {}"), "w": a bare answer ("label: {}").
FRAMES = (
    ("n", "a photo of {}"), ("n", "a picture of {} on a sticky note"), ("n", "close-up of {} written in pencil"),
    ("n", "{} scribbled on lined paper"), ("n", "scan of {} from an old form"), ("n", "a blurry shot of {}"),
    ("n", "{} drawn with a thick marker"), ("n", "someone wrote {} on the whiteboard"),
    ("n", "my daughter drew {} in her notebook"), ("n", "{} in blue ink on a receipt"),
    ("n", "here is {} i wrote this morning"), ("n", "{} on the back of an envelope"),
    ("n", "the card shows {}"), ("n", "there is {} in the middle of the page"), ("n", "i think this is {}"),
    ("n", "looks like {} to me"), ("n", "practice sheet with {}"), ("n", "{} in my handwriting"),
    ("w", "she said {}"), ("w", "he says {} quite fast"), ("w", "{}, i think"), ("w", "the speaker says {}"),
    ("w", "recording of a man saying {}"), ("w", "a child counting: {}"), ("w", "voice memo: {}"),
    ("w", "um... {}"), ("w", "the word is {}"), ("w", "{} (said twice)"), ("w", "answer: {}"),
    ("w", "label: {}"), ("w", "class = {}"), ("w", "value {}"), ("w", "tagged as {}"), ("w", "reading: {}"),
    ("w", "my guess is {}"), ("w", "transcript: {}"), ("w", "caller said {} on the phone"),
    ("w", "ok it's {}"), ("w", "pretty sure it says {}"), ("w", "digit = {}"),
)
HELD_OUT_FRAMES = (
    ("n", "a snapshot of {} on a napkin"), ("n", "{} written in chalk"), ("n", "grandpa wrote {} on the box"),
    ("n", "an old photo showing {}"), ("n", "{} on a yellow post-it"), ("n", "you can see {} in this scan"),
    ("n", "i scribbled {} really quickly"), ("n", "{} printed on the ticket"),
    ("w", "a woman clearly says {}"), ("w", "audio clip, speaker says {}"), ("w", "{}? i'm not sure"),
    ("w", "kid shouting {}"), ("w", "annotation: {}"), ("w", "category: {}"), ("w", "what i hear is {}"),
    ("w", "final answer {}"),
)
LEAD_INS = ("ok so ", "hmm, ", "note: ", "fyi ", "update: ", "sample: ", "hey, ", "so ")
HELD_OUT_LEAD_INS = ("btw ", "well, ", "quick note: ", "look: ")
TRAILERS = (" thanks", " (sorry it's blurry)", " from my phone", " taken in 2019", " #handwriting",
            " lol", " - recorded at home", " on a noisy street", " page 12", " take 27")
HELD_OUT_TRAILERS = (" cheers", " (bad lighting)", " shot in 2021", " via email", " attempt 14")
ENDINGS = ("", "", "", ".", ".", "!", "?", "...", " :)")

# How the digit is mentioned; {w} is its word, {n} its numeral.
NAMED = {"n": ("the number {w}", "number {n}", "the digit {n}", "a {n}", "a {w}", "digit {w}", "the numeral {n}",
               "a handwritten {n}", "a big {w}", "{w}", "{n}", "no. {n}", "#{n}", "a little {w}"),
         "w": ("{w}", "{w}", "{n}", "{n}", "number {n}", "digit {w}", "{w} ({n})", "{W}", "{w}, {w}", "'{w}'")}
VAGUE = {"n": ("a number", "a digit", "some number", "something", "a number i can't read", "a single digit",
               "a random number", "a symbol", "a mark", "my handwriting"),
         "w": ("a number", "something", "no idea", "unknown", "not sure", "n/a", "?", "hard to say", "a digit",
               "mumbling")}
P_TYPO = 0.15
P_LEAD_IN = P_TRAILER = 0.3


def _pick(rng: np.random.Generator, options: Sequence) -> str | tuple:
    return options[int(rng.integers(len(options)))]


def mention(digit: int, kind: str, rng: np.random.Generator) -> str:
    """The digit as a person would write it in a slot of this kind."""
    word = CLASS_NAMES[digit]
    return str(_pick(rng, NAMED[kind])).format(w=word, n=digit, W=word.upper())


def typo(text: str, rng: np.random.Generator) -> str:
    """One slip of the keyboard in a word of four letters or more (swap, drop or double a letter)."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = long[int(rng.integers(len(long)))]
    w, j = words[i], int(rng.integers(1, len(words[i]) - 1))
    words[i] = _pick(rng, (w[:j] + w[j + 1] + w[j] + w[j + 2:], w[:j] + w[j + 1:], w[:j] + w[j] + w[j:]))
    return " ".join(words)


def _case(text: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.45:
        return text[:1].upper() + text[1:]
    return text.upper() if roll < 0.5 else text


def caption(digit: int, informative: bool, rng: np.random.Generator, held_out: bool = False) -> str:
    """A caption that names ``digit`` when ``informative``, else a neutral one in the same frames."""
    kind, frame = _pick(rng, HELD_OUT_FRAMES if held_out else FRAMES)
    lead = str(_pick(rng, HELD_OUT_LEAD_INS if held_out else LEAD_INS)) if rng.random() < P_LEAD_IN else ""
    trail = str(_pick(rng, HELD_OUT_TRAILERS if held_out else TRAILERS)) if rng.random() < P_TRAILER else ""
    if rng.random() < P_TYPO:  # slips land in the frame's words, never in the digit itself
        frame = typo(frame, rng)
    slot = mention(digit, kind, rng) if informative else str(_pick(rng, VAGUE[kind]))
    return _case(lead + frame.format(slot) + trail + str(_pick(rng, ENDINGS)), rng)
