"""Spoken digits from espeak-ng: many accents x voice variants, rates and pitches, plus noise.

Whole voice variants are held out for the test split, so the audio tower is measured on
timbres it never heard.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np

from mmtriton.errors import DataGenerationError
from mmtriton.spec.presets import CLASS_NAMES

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "croak")
HELD_OUT_VARIANTS = ("m4", "f3", "klatt2")
AUDIO_FORMATS = ("wav16", "wav-float", "flac", "ogg")
_FORMAT_WEIGHTS = (0.5, 0.1, 0.25, 0.15)
OUTPUT_RATES = (16_000, 22_050, 44_100)


def voices(held_out: bool) -> list[str]:
    """espeak-ng voice names (accent+variant) of one side of the split."""
    keep = [v for v in VARIANTS if (v in HELD_OUT_VARIANTS) == held_out]
    return [f"{a}+{v}" for a in ACCENTS for v in keep]


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise DataGenerationError("espeak-ng is not installed (apt-get install espeak-ng)")
    return path


def synthesize(digit: int, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """The digit's English word spoken by espeak-ng -> (float32 samples, sample rate)."""
    import soundfile as sf

    cmd = [espeak_binary(), "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", CLASS_NAMES[digit]]
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=30)
    if proc.returncode != 0 or len(proc.stdout) < 100:
        raise DataGenerationError(f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode(errors='replace')}")
    samples, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    return samples, sr


def add_noise(speech: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Pink-ish noise at the given SNR (relative to the speech power)."""
    white = rng.normal(0, 1, size=speech.shape[0]).astype(np.float32)
    noise = np.convolve(white, np.ones(4, dtype=np.float32) / 4, mode="same")
    p_speech = float(np.mean(speech ** 2)) + 1e-10
    p_noise = float(np.mean(noise ** 2)) + 1e-10
    return speech + noise * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))


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
