"""Frozen results returned by the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from mmtriton_client.errors import ClientError, InferenceError


@dataclass(frozen=True)
class Prediction:
    """One prediction: the label, every class probability, the fused embedding and what was used."""

    label: str
    label_index: int
    class_names: tuple[str, ...]
    probabilities: Optional[np.ndarray]  # None when asked for top_k: the server ranked them instead
    fused_embedding: np.ndarray
    modalities: tuple[str, ...]
    embeddings: dict = field(default_factory=dict)  # per-modality embeddings when the server returns them
    latency_ms: Optional[float] = None  # client-measured, retries included
    ranked: tuple["Classification", ...] = ()  # Triton's classification extension (``top_k=``)

    @property
    def confidence(self) -> float:
        if self.probabilities is None:
            return next((c.score for c in self.ranked if c.index == self.label_index), float("nan"))
        return float(self.probabilities[self.label_index])

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        if self.probabilities is None:
            return [(c.label, c.score) for c in self.ranked[:k]]
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]


@dataclass(frozen=True)
class Classification:
    """One entry of Triton's classification output (``score:index:label``)."""

    label: str
    index: int
    score: float

    @classmethod
    def parse(cls, entry: bytes | str) -> "Classification":
        text = entry.decode("utf-8") if isinstance(entry, bytes) else entry
        try:
            score, index, label = text.split(":", 2)
            return cls(label, int(index), float(score))
        except ValueError as e:
            raise InferenceError(f"the server's classification entry is not score:index:label: {text!r}") from e


@dataclass(frozen=True)
class BatchItem:
    """``predict_batch`` result for one input: a prediction or the error that input got."""

    index: int
    prediction: Optional[Prediction] = None
    error: Optional[ClientError] = None

    @property
    def ok(self) -> bool:
        return self.error is None
