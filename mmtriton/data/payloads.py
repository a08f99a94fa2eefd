"""Data set rows as request payloads: the one reader of a split's files into the bytes and
captions a request carries (``payload``), and the benchmark workload built on it.

The workload: real held-out files in a fixed mix of sizes and modality subsets. Every system in
a benchmark run (Triton, the in-process floor, the FastAPI baseline) gets
exactly these items, so their numbers are comparable. Sizes are mixed on purpose: the
held-out files are small (about 100 px images, 1 s clips), so every fourth item carries a
640x480 JPEG made from its own image and every fourth a 3 s 44.1 kHz WAV made from its own
clip; every fifth caption is a long one (several captions joined), which hits truncation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mmtriton.data.generate import Sample, read_manifest
from mmtriton.spec.modality import MODALITIES

FULL = MODALITIES
# Half the requests carry all three modalities, the rest every smaller subset once.
SUBSET_MIX: tuple[tuple[str, ...], ...] = (FULL,) * 6 + (
    ("image", "audio"), ("audio", "text"), ("image", "text"), ("image",), ("audio",), ("text",))
LARGE_IMAGE = (640, 480)
LARGE_AUDIO_RATE, LARGE_AUDIO_SECONDS = 44_100, 3.0


@dataclass(frozen=True)
class Item:
    """One request's payload: encoded bytes / caption for the modalities it carries."""

    sample_id: str
    label: int
    subset: tuple[str, ...]
    image: Optional[bytes]
    audio: Optional[bytes]
    text: Optional[str]

    @property
    def kwargs(self) -> dict:
        return {"image": self.image, "audio": self.audio, "text": self.text}


def payload(folder: Path, sample: Sample, subset: Sequence[str] = MODALITIES) -> dict[str, Any]:
    """The sample's encoded files/caption for the modalities in ``subset`` that it has."""
    return {"image": (folder / sample.image).read_bytes() if "image" in subset and sample.image else None,
            "audio": (folder / sample.audio).read_bytes() if "audio" in subset and sample.audio else None,
            "text": sample.text if "text" in subset and sample.text else None}


def large_jpeg(data: bytes, size: tuple[int, int] = LARGE_IMAGE, quality: int = 90) -> bytes:
    """The same picture re-encoded as a camera-sized baseline JPEG."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        rgb = im.convert("RGB").resize(size, Image.BILINEAR)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def long_wav(data: bytes, rate: int = LARGE_AUDIO_RATE, seconds: float = LARGE_AUDIO_SECONDS) -> bytes:
    """The same clip resampled to ``rate`` and repeated to exactly ``seconds`` (16-bit PCM WAV)."""
    import soundfile as sf
    import soxr

    samples, src_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = soxr.resample(samples.mean(axis=1), src_rate, rate)
    n = int(round(rate * seconds))
    tiled = np.resize(mono, n) if len(mono) else np.zeros(n, np.float32)
    out = io.BytesIO()
    sf.write(out, tiled, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def build_items(folder: Path, samples: Sequence[Sample], count: int) -> list[Item]:
    """``count`` items from the first samples that carry all three modalities; a user's data set
    with fewer such rows adds the others, each sending what it has of its subset."""
    full = [s for s in samples if s.image and s.audio and s.text]
    usable = full + [s for s in samples if s not in full][:max(0, count - len(full))]
    captions = [s.text for s in usable if s.text]
    items = []
    for i, s in enumerate(usable[:count]):
        subset = tuple(m for m in SUBSET_MIX[i % len(SUBSET_MIX)] if getattr(s, m)) or _has(s)
        image, audio, text = payload(folder, s, subset).values()
        if image is not None and i % 4 == 0:
            image = large_jpeg(image)
        if audio is not None and i % 4 == 2:
            audio = long_wav(audio)
        if text is not None and i % 5 == 0:
            text = " and ".join(captions[i:i + 6] + captions[:max(0, i + 6 - len(captions))])
        items.append(Item(s.id, s.label, subset, image, audio, text))
    return items


def _has(sample: Sample) -> tuple[str, ...]:
    return tuple(m for m in MODALITIES if getattr(sample, m))


def load_items(manifest: Path, count: int) -> list[Item]:
    """Workload from a split manifest (the held-out ``test`` split in every benchmark)."""
    return build_items(manifest.with_suffix(""), read_manifest(manifest), count)


def describe(items: Sequence[Item]) -> dict:
    """What the workload contains, for the report."""
    subsets: dict[str, int] = {}
    for it in items:
        key = "+".join(it.subset)
        subsets[key] = subsets.get(key, 0) + 1
    sizes = [len(it.image) for it in items if it.image] + [len(it.audio) for it in items if it.audio]
    return {"items": len(items), "subsets": subsets,
            "large_images": sum(1 for i, it in enumerate(items) if it.image and i % 4 == 0),
            "long_clips": sum(1 for i, it in enumerate(items) if it.audio and i % 4 == 2),
            "long_captions": sum(1 for i, it in enumerate(items) if it.text and i % 5 == 0),
            "mean_encoded_kib": round(float(np.mean(sizes)) / 1024, 1) if sizes else 0.0}
