"""Frozen results returned by the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from mmtriton_client.errors import ClientError


@dataclass(frozen=True)
class Prediction:
    """One prediction: the label, every class probability, the fused embedding and what was used."""

    label: str
    label_index: int
    class_names: tuple[str, ...]
    probabilities: np.ndarray
    fused_embedding: np.ndarray
    modalities: tuple[str, ...]
    embeddings: dict = field(default_factory=dict)  # per-modality embeddings when the server returns them
    latency_ms: Optional[float] = None  # client-measured, retries included

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.label_index])

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]


@dataclass(frozen=True)
class BatchItem:
    """``predict_batch`` result for one input: a prediction or the error that input got."""

    index: int
    prediction: Optional[Prediction] = None
    error: Optional[ClientError] = None

    @property
    def ok(self) -> bool:
        return self.error is None
