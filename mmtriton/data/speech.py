"""Spoken digits: espeak-ng accents x voice variants, flite and festival voices (``engines``).

Whole voice variants and whole flite/festival voices are held out for the test split, so the
audio tower is measured on timbres it never heard.
"""

from __future__ import annotations

import io

import numpy as np

from mmtriton.data import engines
from mmtriton.spec.presets import CLASS_NAMES

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "croak")
HELD_OUT_VARIANTS = ("m4", "f3", "klatt2")
AUDIO_FORMATS = ("wav16", "wav-float", "flac", "ogg")
_FORMAT_WEIGHTS = (0.5, 0.1, 0.25, 0.15)
OUTPUT_RATES = (8_000, 16_000, 22_050, 44_100)


def voices(held_out: bool) -> list[str]:
    """Voice names of one side of the split: espeak-ng accent+variant, then flite and festival."""
    keep = [v for v in VARIANTS if (v in HELD_OUT_VARIANTS) == held_out]
    return [f"{a}+{v}" for a in ACCENTS for v in keep] + engines.other_voices(held_out)


def held_out(voice: str) -> bool:
    """Whether ``voice`` belongs to the test split's side."""
    if engines.engine_of(voice) != "espeak":
        return voice in engines.HELD_OUT
    return voice.split("+")[1] in HELD_OUT_VARIANTS


def synthesize(digit: int, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """The digit's English word spoken by ``voice`` -> (float32 samples, sample rate)."""
    return engines.synthesize(CLASS_NAMES[digit], voice, rate, pitch)


def pad_silence(samples: np.ndarray, sr: int, rng: np.random.Generator, max_total_s: float) -> np.ndarray:
    """Random leading/trailing silence, keeping the clip under ``max_total_s``."""
    room = max(0.0, max_total_s - samples.shape[0] / sr - 0.05)
    lead, trail = rng.uniform(0, min(0.4, room / 2), size=2)
    return np.concatenate([np.zeros(int(lead * sr), np.float32), samples, np.zeros(int(trail * sr), np.float32)])


def encode_audio(samples: np.ndarray, sr: int, fmt: str) -> tuple[bytes, str]:
    """Encode to one of AUDIO_FORMATS; returns (bytes, file extension)."""
    import soundfile as sf

    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    clipped = samples / peak * 0.9 if peak > 0.99 else samples
    buf = io.BytesIO()
    fmt_args = {
        "wav16": ("WAV", "PCM_16", "wav"), "wav-float": ("WAV", "FLOAT", "wav"),
        "flac": ("FLAC", "PCM_16", "flac"), "ogg": ("OGG", "VORBIS", "ogg"),
    }[fmt]
    sf.write(buf, clipped, sr, format=fmt_args[0], subtype=fmt_args[1])
    return buf.getvalue(), fmt_args[2]


def pick_format(rng: np.random.Generator) -> str:
    return str(rng.choice(AUDIO_FORMATS, p=_FORMAT_WEIGHTS))
