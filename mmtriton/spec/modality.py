"""The modalities, named once: their order is the order of the graph's tensors (encoders,
embeddings, presence flags), and ``SUBSETS`` is the one list of modality subsets a request can
carry (largest first)."""

from __future__ import annotations

import itertools
from enum import Enum


class Modality(str, Enum):
    IMAGE = "image"
    AUDIO = "audio"
    TEXT = "text"


MODALITIES: tuple[str, ...] = tuple(m.value for m in Modality)
SUBSETS: tuple[tuple[str, ...], ...] = tuple(c for r in range(len(MODALITIES), 0, -1)
                                             for c in itertools.combinations(MODALITIES, r))
