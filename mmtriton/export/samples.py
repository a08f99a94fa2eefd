"""Real preprocessed inputs for parity cases, taken from a generated split.

Each model gets batches of 1, 3, 8 and its maximum batch size, plus minimum- and maximum-length
batches for its dynamic axes, built from real clips and captions (cropped or tiled to length).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.preprocess import Preprocessor, pad_frames
from mmtriton.preprocess.audio import LOG_FLOOR
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.modality import MODALITIES
from mmtriton.spec.tensors import Role

BATCHES = (1, 3, 8)
Case = tuple[str, dict[str, np.ndarray]]


class RealInputs:
    """Preprocessed images, log-mels and captions from one split, reused for every model."""

    def __init__(self, graph: ModelGraph, manifest: Path, pre: Preprocessor, limit: int = 64) -> None:
        folder = manifest.with_suffix("")
        data = [payload(folder, r) for r in read_manifest(manifest)]
        self.graph, self.pre = graph, pre
        self.images = [pre.image(d["image"]) for d in data if d["image"] is not None][:limit]
        self.mels = [pre.audio(d["audio"]) for d in data if d["audio"] is not None][:limit]
        self.texts = [d["text"] for d in data if d["text"]][:limit]
        self._fill_absent(np.random.default_rng(0))

    def _fill_absent(self, rng: np.random.Generator) -> None:
        """A user's data set may lack a modality entirely; its encoder is still exported, so it
        is proven on deterministic stand-ins of the right shape instead."""
        p = self.graph.preset
        if not self.images:
            self.images = [rng.standard_normal((3, p.image.size, p.image.size)).astype(np.float32) for _ in range(3)]
        if not self.mels:
            self.mels = [rng.standard_normal((self.graph.frames.opt, p.audio.n_mels)).astype(np.float32) for _ in range(3)]
        if not self.texts:
            self.texts = ["a caption standing in for a data set without text", "another one", "a third"]

    def _take(self, items: list, n: int) -> list:
        return [items[i % len(items)] for i in range(n)]

    def image_cases(self) -> Iterator[Case]:
        name = self.graph.image_encoder.input_with(Role.FEATURES).name
        for b in BATCHES + (self.graph.image_encoder.max_batch_size,):
            yield f"batch{b}", {name: np.stack(self._take(self.images, b))}

    def _audio_inputs(self, mels: list[np.ndarray]) -> dict[str, np.ndarray]:
        mel, lengths = pad_frames(mels)
        spec = self.graph.audio_encoder
        return {spec.input_with(Role.FEATURES).name: mel, spec.input_with(Role.LENGTH).name: lengths}

    def audio_cases(self) -> Iterator[Case]:
        frames = self.graph.frames
        for b in BATCHES:
            yield f"batch{b}-mixed-lengths", self._audio_inputs(self._take(self.mels, b))
        yield "batch3-min-length", self._audio_inputs([m[: frames.min] for m in self._take(self.mels, 3)])
        tiled = [np.resize(m, (frames.max, m.shape[1])) for m in self._take(self.mels, 3)]
        yield "batch3-max-length", self._audio_inputs(tiled)
        yield "max-batch", self._audio_inputs(self._take(self.mels, self.graph.audio_encoder.max_batch_size))
        floor = float(np.log(LOG_FLOOR))
        silence = [np.full((frames.opt, m.shape[1]), floor, np.float32) for m in self._take(self.mels, 2)]
        yield "digital-silence", self._audio_inputs(silence + [np.vstack([silence[0], m])[: frames.max] for m in self._take(self.mels, 2)])

    def text_cases(self) -> Iterator[Case]:
        spec = self.graph.text_encoder
        names = tuple(t.name for t in self.graph.token_inputs)
        for b in BATCHES + (spec.max_batch_size,):
            yield f"batch{b}", dict(zip(names, self.pre.text(self._take(self.texts, b))))
        ids, mask = self.pre.text(self._take(self.texts, 3))
        yield "batch3-min-length", {names[0]: ids[:, :1].copy(), names[1]: mask[:, :1].copy()}
        long = " ".join(self.texts) * 4
        yield "batch3-max-length", dict(zip(names, self.pre.text([long, long[::-1], long.upper()])))

    def fusion_cases(self, embed: dict[str, np.ndarray]) -> Iterator[Case]:
        """Fusion inputs from real encoder outputs, with presence patterns that drop modalities."""
        spec = self.graph.fusion
        n = len(next(iter(embed.values())))
        rng = np.random.default_rng(0)
        for b in BATCHES + (spec.max_batch_size,):
            idx = np.arange(b) % n
            flags = (rng.random((b, 3)) < 0.7).astype(np.float32)
            arrays = {self.graph.embedding(m).name: embed[m][idx] for m in MODALITIES}
            arrays.update({self.graph.present(m).name: flags[:, i:i + 1] for i, m in enumerate(MODALITIES)})
            yield f"batch{b}", arrays
