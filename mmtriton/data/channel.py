"""What happens to speech between a mouth and a file: speed and pitch, the room, the microphone
or telephone band, background noise, level and clipping.

A synthesiser's output is studio-clean and always equally loud; real recordings are not. Each
step is drawn independently, with severities found in everyday recordings (phones, laptops,
8 kHz telephone data sets), so the audio tower learns the word and not the studio.
"""

from __future__ import annotations

import numpy as np


def change_speed(x: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Resampling playback: ``factor`` > 1 is faster and higher (a smaller vocal tract)."""
    import soxr

    return soxr.resample(x, sr, int(round(sr / factor))).astype(np.float32)


def reverberate(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Convolve (by FFT) with an exponentially decaying noise impulse response (RT60 0.15-0.7 s)."""
    rt60 = rng.uniform(0.15, 0.7)
    t = np.arange(int(rt60 * sr)) / sr
    ir = rng.normal(size=t.shape[0]) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / rng.uniform(0.2, 1.0)  # direct path, stronger than the tail near the mic
    size = 1 << int(np.ceil(np.log2(x.shape[0] + ir.shape[0])))
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: x.shape[0]]
    return (wet / (np.abs(wet).max() + 1e-9) * np.abs(x).max()).astype(np.float32)


def band_limit(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A telephone band (300-3400 Hz), a cheap microphone (low-passed), or a full band."""
    from scipy.signal import butter, sosfilt

    kind = rng.random()
    if kind < 0.25:
        sos = butter(4, [300, min(3400, sr / 2 - 100)], btype="bandpass", fs=sr, output="sos")
    elif kind < 0.55:
        sos = butter(4, [rng.uniform(50, 200), min(rng.uniform(3500, 7500), sr / 2 - 100)], btype="bandpass", fs=sr, output="sos")
    else:
        return x
    return sosfilt(sos, x).astype(np.float32)


def background(x: np.ndarray, sr: int, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """White, pink-ish or brown noise, or mains hum, at ``snr_db`` below the speech."""
    n = x.shape[0]
    kind = rng.random()
    if kind < 0.15:
        f0 = rng.choice([50.0, 60.0])
        t = np.arange(n) / sr
        noise = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3))
    else:
        noise = rng.normal(size=n)
        if kind < 0.6:
            noise = np.convolve(noise, np.ones(4) / 4, mode="same")
        elif kind < 0.8:
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
    p_speech, p_noise = float(np.mean(x ** 2)) + 1e-10, float(np.mean(noise ** 2)) + 1e-10
    return (x + noise * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))).astype(np.float32)


def level(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A recording level from quiet (-35 dBFS peak) to clipped (10% of recordings)."""
    peak = float(np.abs(x).max()) + 1e-9
    if rng.random() < 0.1:
        return np.clip(x / peak * rng.uniform(1.2, 3.0), -1.0, 1.0).astype(np.float32)
    return (x / peak * 10 ** (rng.uniform(-35, -1) / 20)).astype(np.float32)


def simulate(x: np.ndarray, sr: int, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """The whole channel, each step drawn on its own (speed 0.85-1.2, reverb 30 %)."""
    x = change_speed(x, sr, rng.uniform(0.85, 1.2))
    if rng.random() < 0.3:
        x = reverberate(x, sr, rng)
    x = band_limit(x, sr, rng)
    return level(background(x, sr, rng, snr_db), rng)
