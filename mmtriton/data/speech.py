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
    if fmt == "wav-float":
        # scipy, not libsndfile: libsndfile's float WAV carries a PEAK chunk with the time of
        # writing, so the same sample would give other bytes a second later.
        from scipy.io import wavfile

        wavfile.write(buf, sr, np.asarray(clipped, dtype=np.float32))
        return buf.getvalue(), "wav"
    fmt_args = {
        "wav16": ("WAV", "PCM_16", "wav"), "wav-float": ("WAV", "FLOAT", "wav"),
        "flac": ("FLAC", "PCM_16", "flac"), "ogg": ("OGG", "VORBIS", "ogg"),
    }[fmt]
    sf.write(buf, clipped, sr, format=fmt_args[0], subtype=fmt_args[1])
    data = buf.getvalue()
    return (fixed_ogg_serial(data) if fmt == "ogg" else data), fmt_args[2]


def _ogg_crc(page: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial 0."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def fixed_ogg_serial(data: bytes, serial: int = 1) -> bytes:
    """The same Ogg stream with a fixed stream serial number (libsndfile draws a random one per
    file, so the same sample would give other bytes each time), page checksums recomputed."""
    out, pos = bytearray(), 0
    while pos + 27 <= len(data) and data[pos:pos + 4] == b"OggS":
        segments = data[pos + 26]
        size = 27 + segments + sum(data[pos + 27: pos + 27 + segments])
        page = bytearray(data[pos: pos + size])
        page[14:18] = serial.to_bytes(4, "little")
        page[22:26] = b"\0\0\0\0"
        page[22:26] = _ogg_crc(bytes(page)).to_bytes(4, "little")
        out += page
        pos += size
    return bytes(out) + data[pos:]


def pick_format(rng: np.random.Generator) -> str:
    return str(rng.choice(AUDIO_FORMATS, p=_FORMAT_WEIGHTS))
