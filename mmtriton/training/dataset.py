"""Load a generated split through the *public* preprocessing functions (train/serve parity).

Arrays are preprocessed once per split; absent modalities get a placeholder and presence 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from mmtriton.data.generate import Sample, read_manifest
from mmtriton.data.payloads import payload
from mmtriton.preprocess import Preprocessor


@dataclass
class SplitArrays:
    """One split, preprocessed. ``mels`` keeps each clip's own length (no padding yet)."""

    labels: np.ndarray
    pixels: np.ndarray
    mels: list[np.ndarray]
    texts: list[Optional[str]]
    presence: np.ndarray  # [N, 3] float32: image, audio, text
    samples: list[Sample]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def load_split(manifest: Path, pre: Preprocessor, on_progress: Callable[[int], None] | None = None) -> SplitArrays:
    """Decode every file of ``manifest`` exactly as the server would."""
    samples = read_manifest(manifest)
    folder = manifest.with_suffix("")
    size = pre.graph.preset.image.size
    min_frames = pre.graph.frames.min
    n_mels = pre.graph.preset.audio.n_mels
    pixels = np.zeros((len(samples), 3, size, size), dtype=np.float32)
    mels: list[np.ndarray] = []
    for i, s in enumerate(samples):
        data = payload(folder, s, ("image", "audio"))  # the caption is tokenised per batch later
        if data["image"] is not None:
            pixels[i] = pre.image(data["image"])
        mels.append(pre.audio(data["audio"]) if data["audio"] is not None else np.zeros((min_frames, n_mels), np.float32))
        if on_progress and i % 100 == 99:
            on_progress(100)
    presence = np.asarray([[s.image is not None, s.audio is not None, s.text is not None] for s in samples], np.float32)
    labels = np.asarray([s.label for s in samples], dtype=np.int64)
    return SplitArrays(labels, pixels, mels, [s.text for s in samples], presence, samples)
