"""The reference model on real recorded digits in the forms other spoken-digit sets and devices
keep them.

The five speakers of ``metrics.json``'s ``real`` (Debian packages, 48 recordings) stand in for
voices we do not have; here their recordings are rewritten as other collections store theirs:
8 kHz cut tight at both ends, in 16 or 8 bits, sometimes into the word (the Free Spoken Digit
Dataset), 48 kHz cut tight (AudioMNIST), one second with the word anywhere in it over
background noise (Speech Commands), stereo MP3 from a phone, a 96 kHz 24-bit recorder, too
quiet, clipped, a DC offset, mains hum, and the word in the middle of a long take. The model
should not care; this prints the checkpoint's audio-only top-1 per form, each decoded as the
server decodes it (``mmtriton.training.real_eval``).

Usage: .venv/bin/python benchmarks/speech_formats.py [--preset demo]   (JSON; ~15 s on 2 cores)
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Callable

import numpy as np

from mmtriton.data import real
from mmtriton.paths import Artifacts
from mmtriton.preprocess import Preprocessor
from mmtriton.training.checkpoint import load_model
from mmtriton.training.real_eval import SPEAKERS, measure

Form = Callable[[np.ndarray, int, np.random.Generator], bytes]


def _file(samples: np.ndarray, sr: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(samples, -1.0, 1.0), sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _at(samples: np.ndarray, sr: int, rate: int) -> np.ndarray:
    import soxr

    return samples if sr == rate else soxr.resample(samples, sr, rate).astype(np.float32)


def tight(samples: np.ndarray, sr: int, below_peak_db: float = 30.0) -> np.ndarray:
    """The recording cut to the 10 ms frames from the first to the last one within
    ``below_peak_db`` of the loudest (how spoken-digit sets trim their words)."""
    hop = max(1, sr // 100)
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level >= level.max() - below_peak_db)
    return samples[loud[0] * hop:(loud[-1] + 1) * hop]


def _noise(n: int, rng: np.random.Generator, level: float) -> np.ndarray:
    """Pink-ish background noise (white noise through a one-pole low-pass) at RMS ``level``."""
    from scipy.signal import lfilter

    pink = lfilter([1.0], [1.0, -0.97], rng.standard_normal(n)).astype(np.float32)
    return pink / (np.sqrt(np.mean(pink ** 2)) + 1e-12) * level


def one_second(samples: np.ndarray, sr: int, rng: np.random.Generator) -> bytes:
    """16 kHz, exactly 1 s, the tight word placed at random, noise 20 dB below the word."""
    word = tight(_at(samples, sr, 16_000), 16_000)[:16_000]
    out = np.zeros(16_000, np.float32)
    start = int(rng.integers(0, 16_000 - len(word) + 1))
    out[start:start + len(word)] = word
    rms = float(np.sqrt(np.mean(word ** 2)))
    return _file(out + _noise(16_000, rng, rms / 10), 16_000)


def long_take(samples: np.ndarray, sr: int, rng: np.random.Generator) -> bytes:
    """The word in the middle of 8 s of room noise 30 dB below it (a recorder left running)."""
    word = _at(samples, sr, 16_000)
    rms = float(np.sqrt(np.mean(tight(word, 16_000) ** 2)))
    out = _noise(8 * 16_000, rng, rms / 31.6)
    start = (len(out) - len(word)) // 2
    out[start:start + len(word)] += word
    return _file(out, 16_000)


def _scaled(samples: np.ndarray, peak: float) -> np.ndarray:
    return samples / (float(np.max(np.abs(samples))) + 1e-12) * peak


FORMS: dict[str, Form] = {
    "8 kHz 16-bit WAV cut tight (as the Free Spoken Digit Dataset)":
        lambda x, sr, rng: _file(tight(_at(x, sr, 8_000), 8_000), 8_000),
    "8 kHz 8-bit WAV cut tight (as some of its speakers sent theirs)":
        lambda x, sr, rng: _file(tight(_at(x, sr, 8_000), 8_000), 8_000, subtype="PCM_U8"),
    "8 kHz cut tight, the first 30 ms of the word lost too (a trimmer cutting early)":
        lambda x, sr, rng: _file(tight(_at(x, sr, 8_000), 8_000)[240:], 8_000),
    "48 kHz 16-bit WAV cut tight (as AudioMNIST)": lambda x, sr, rng: _file(tight(_at(x, sr, 48_000), 48_000), 48_000),
    "1 s at 16 kHz, the word anywhere, noise 20 dB below (as Speech Commands)": one_second,
    "44.1 kHz stereo MP3 (as a phone shares it)":
        lambda x, sr, rng: _file(np.stack([_at(x, sr, 44_100)] * 2, axis=1), 44_100, "MP3", "MPEG_LAYER_III"),
    "96 kHz 24-bit WAV (as a recorder writes it)": lambda x, sr, rng: _file(_at(x, sr, 96_000), 96_000, subtype="PCM_24"),
    "too quiet: peak at -40 dBFS": lambda x, sr, rng: _file(_scaled(x, 0.01), sr),
    "too quiet: peak at -50 dBFS": lambda x, sr, rng: _file(_scaled(x, 10 ** (-50 / 20)), sr),
    "too quiet: peak at -60 dBFS": lambda x, sr, rng: _file(_scaled(x, 0.001), sr),
    "clipped: 6 dB too loud": lambda x, sr, rng: _file(_scaled(x, 2.0), sr),
    "clipped: 12 dB too loud": lambda x, sr, rng: _file(_scaled(x, 4.0), sr),
    "clipped: 20 dB too loud": lambda x, sr, rng: _file(_scaled(x, 10.0), sr),
    "a DC offset of 0.2": lambda x, sr, rng: _file(_scaled(x, 0.6) + 0.2, sr),
    "50 Hz mains hum 20 dB below the peak":
        lambda x, sr, rng: _file(_scaled(x, 0.8) + 0.08 * np.sin(2 * np.pi * 50 * np.arange(len(x)) / sr), sr),
    "the word in the middle of an 8 s take": long_take,
}


def speakers() -> real.RealAudio:
    """The five speakers' recordings as their packages ship them (the baseline)."""
    return real.pooled("speakers", [load() for load in SPEAKERS.values()])


def rewritten(data: real.RealAudio, form: Form, seed: int = 0) -> real.RealAudio:
    """Each recording decoded to mono samples and written again in ``form``."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    clips = []
    for clip in data.clips:
        samples, sr = sf.read(io.BytesIO(clip), dtype="float32", always_2d=True)
        clips.append(form(samples[:, 0], sr, rng))
    return real.RealAudio(data.source, clips, data.labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    args = parser.parse_args()
    model, graph, _ = load_model(Artifacts.default().checkpoint(args.preset))
    pre = Preprocessor(graph)
    data = speakers()
    report = {"as the packages ship them": measure(model, pre, lambda: data)}
    for name, form in FORMS.items():
        report[name] = measure(model, pre, lambda form=form: rewritten(data, form))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
