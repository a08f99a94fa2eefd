"""Pure helpers to batch ragged per-request arrays and split results back: the Python-backend
models, the engine calibration and parity and the in-process floor all batch the same way.

Kept free of Triton imports so they are unit-tested directly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mmtriton.errors import InvalidInputError


def pad_axis1(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate [B_i, L_i, ...] arrays along batch, zero-padding axis 1 to the longest L."""
    if arrays[0].ndim < 2:
        return np.concatenate(arrays)
    longest = max(a.shape[1] for a in arrays)
    return np.concatenate([pad_length(a, longest) for a in arrays])


def pad_length(array: np.ndarray, length: int, value: int = 0) -> np.ndarray:
    """Pad axis 1 of [B, L, ...] up to ``length`` with ``value`` (a length bucket; never crops)."""
    if array.shape[1] >= length:
        return array
    return np.pad(array, [(0, 0), (0, length - array.shape[1])] + [(0, 0)] * (array.ndim - 2), constant_values=value)


def split_rows(array: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    """Undo a concatenation along batch: one slice per request, lengths checked."""
    if array.shape[0] != sum(counts):
        raise InvalidInputError(f"model returned {array.shape[0]} rows for {sum(counts)} inputs")
    bounds = np.cumsum([0] + list(counts))
    return [array[bounds[i]:bounds[i + 1]] for i in range(len(counts))]


def bytes_rows(array: np.ndarray, name: str) -> list[bytes]:
    """A BYTES tensor [B, 1] -> B Python bytes objects."""
    if array.ndim != 2 or array.shape[1] != 1:
        raise InvalidInputError(f"{name} must have shape [batch, 1], got {list(array.shape)}")
    return [x if isinstance(x, bytes) else bytes(x) for x in array[:, 0]]
