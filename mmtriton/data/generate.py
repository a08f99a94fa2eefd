"""Generate the reference data set: encoded files on disk plus one JSONL manifest per split.

Every sample draws from its own generator seeded by (split seed, index), so the output does not
depend on how the work is spread over processes. Modalities are degraded or dropped
independently, which is what makes fusion beat every single modality.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from mmtriton.data import captions, channel, engines, handwriting, mnist_ink, render, speech, strokes
from mmtriton.data.fonts import split_fonts

log = logging.getLogger(__name__)

MAX_CLIP_SECONDS = 2.8  # stays under the demo preset's 3 s limit after silence padding
P_IMAGE = {"clean": 0.85, "degraded": 0.08, "absent": 0.07}
P_AUDIO = {"clean": 0.85, "degraded": 0.08, "absent": 0.07}
P_TEXT = {"informative": 0.45, "neutral": 0.45, "absent": 0.10}
P_HANDWRITTEN = 0.5
P_REAL_HAND = 0.5  # of the handwritten images: a real MNIST hand's digit
P_STROKES = 0.25  # of the handwritten images: pen strokes in one of the regional styles; the rest are fonts


@dataclass(frozen=True)
class SplitPlan:
    name: str
    count: int
    held_out: bool
    seed: int


@dataclass(frozen=True)
class Sample:
    """One manifest row; file names are relative to the split folder."""

    id: str
    label: int
    image: Optional[str]
    audio: Optional[str]
    text: Optional[str]
    image_state: str
    audio_state: str
    text_state: str
    font: str
    voice: str


def default_plans(train: int = 3000, val: int = 600, test: int = 1200, seed: int = 0) -> tuple[SplitPlan, ...]:
    """Validation shares voices/fonts with training; test uses held-out voices and fonts."""
    return (SplitPlan("train", train, False, seed), SplitPlan("val", val, False, seed + 1),
            SplitPlan("test", test, True, seed + 2))


def _draw(rng: np.random.Generator, probs: dict[str, float]) -> str:
    return str(rng.choice(list(probs), p=list(probs.values())))


def _states(rng: np.random.Generator) -> tuple[str, str, str]:
    image, audio, text = _draw(rng, P_IMAGE), _draw(rng, P_AUDIO), _draw(rng, P_TEXT)
    if image == audio == text == "absent":
        text = "neutral"  # a request needs at least one modality
    return image, audio, text


def _ink_mask(label: int, font: Path, held_out: bool, rng: np.random.Generator) -> handwriting.InkMask:
    """Where a handwritten image's ink comes from: a real hand (MNIST), pen strokes in a style
    MNIST's writers rarely use (a crossed 7, a flagged 1), or a handwriting font."""
    source = rng.random()
    if source < P_REAL_HAND:
        return functools.partial(mnist_ink.ink_tile, label, held_out=held_out)
    if source < P_REAL_HAND + P_STROKES:
        return functools.partial(strokes.stroke_ink, label)
    return functools.partial(handwriting.font_ink, label, font)


def _write_image(label: int, font: Path, degraded: bool, held_out: bool, rng: np.random.Generator,
                 stem: Path) -> str:
    """Half printed (any font, any colours), half handwriting on paper (mostly real hands);
    degraded images are printed ones with a large occluder."""
    if not degraded and rng.random() < P_HANDWRITTEN:
        im = handwriting.render_handwritten(_ink_mask(label, font, held_out, rng), rng)
    else:
        im = render.render_digit(label, font, rng, degraded)
    data, ext = render.encode_image(im, render.pick_format(rng), rng)
    stem.with_suffix("." + ext).write_bytes(data)
    return stem.name + "." + ext


def _write_audio(label: int, voice: str, degraded: bool, rng: np.random.Generator, stem: Path) -> str:
    samples, sr = speech.synthesize(label, voice, int(rng.integers(120, 221)), int(rng.integers(25, 76)))
    snr = rng.uniform(-12, -6) if degraded else rng.uniform(5, 40)
    heard = channel.simulate(samples, sr, rng, snr)
    clip = speech.pad_silence(heard[: int(MAX_CLIP_SECONDS * sr)], sr, rng, MAX_CLIP_SECONDS)
    out_sr = int(rng.choice(speech.OUTPUT_RATES))
    if out_sr != sr:
        import soxr

        clip = soxr.resample(clip, sr, out_sr)
    data, ext = speech.encode_audio(clip, out_sr, speech.pick_format(rng))
    stem.with_suffix("." + ext).write_bytes(data)
    return stem.name + "." + ext


def make_sample(plan: SplitPlan, index: int, fonts: list[str], voices: list[str], folder: str) -> Sample:
    """Render, synthesise and write one sample; returns its manifest row."""
    rng = np.random.default_rng([plan.seed, index])
    label = index % 10
    image_state, audio_state, text_state = _states(rng)
    font, voice = fonts[int(rng.integers(len(fonts)))], engines.pick_voice(voices, rng)
    stem = Path(folder) / f"{plan.name}-{index:05d}"
    degraded = image_state == "degraded"
    image = None if image_state == "absent" else _write_image(label, Path(font), degraded, plan.held_out, rng, stem)
    audio = None if audio_state == "absent" else _write_audio(label, voice, audio_state == "degraded", rng, stem)
    text = None if text_state == "absent" else captions.caption(label, text_state == "informative", rng,
                                                                       plan.held_out)
    return Sample(stem.name, label, image, audio, text, image_state, audio_state, text_state, Path(font).name, voice)


def _make_many(args: tuple) -> list[Sample]:
    plan, indices, fonts, voices, folder = args
    return [make_sample(plan, i, fonts, voices, folder) for i in indices]


def generate_split(plan: SplitPlan, root: Path, workers: int = 0,
                   on_progress: Callable[[int], None] | None = None) -> Path:
    """Write ``root/<split>/`` files and ``root/<split>.jsonl``; returns the manifest path."""
    train_fonts, held_fonts = split_fonts()
    fonts = [str(f) for f in (held_fonts if plan.held_out else train_fonts)]
    voices = speech.voices(held_out=plan.held_out)
    folder = root / plan.name
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [list(range(s, min(s + 50, plan.count))) for s in range(0, plan.count, 50)]
    jobs = [(plan, c, fonts, voices, str(folder)) for c in chunks]
    rows: list[Sample] = []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for batch in pool.map(_make_many, jobs):
            rows.extend(batch)
            if on_progress:
                on_progress(len(batch))
    manifest = root / f"{plan.name}.jsonl"
    manifest.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows))
    log.info("wrote %d %s samples to %s", len(rows), plan.name, folder)
    return manifest


def read_manifest(path: Path) -> list[Sample]:
    return [Sample(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
