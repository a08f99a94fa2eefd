"""Scored: the towers run once per split, and every accuracy then equals the one computed from
scratch, sample by sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmtriton.training.dataset import load_split
from mmtriton.training.features import cache_split
from mmtriton.training.scoring import Scored, embeddings, fuse

MASKS = [None, torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0])]


@pytest.fixture(scope="module")
def val(tiny_data, untrained_model, preprocessor):
    return cache_split(untrained_model, preprocessor, load_split(tiny_data / "val.jsonl", preprocessor))


def _one_by_one(model, data, mask, index) -> float:
    """Accuracy with the towers and the fusion run for each sample alone."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in index:
            presence = data.presence[[i]] * (mask if mask is not None else 1.0)
            logits, _ = fuse(model, embeddings(model, data, np.array([i])), presence)
            correct += int(logits.argmax(dim=1).item() == int(data.labels[i]))
    return correct / len(index)


@pytest.mark.parametrize("mask", range(len(MASKS)))
def test_every_accuracy_equals_the_one_from_scratch(untrained_model, val, mask):
    scored = Scored.of(untrained_model, val, batch=7)  # batches that do not divide the split
    everything = np.arange(len(val))
    assert scored.accuracy(MASKS[mask]) == _one_by_one(untrained_model, val, MASKS[mask], everything)


def test_alone_counts_only_the_samples_that_have_the_modality(untrained_model, val):
    scored = Scored.of(untrained_model, val)
    for column in range(3):
        has = np.flatnonzero(val.presence[:, column].numpy() > 0)
        assert scored.alone(column) == _one_by_one(untrained_model, val, MASKS[column + 1], has)
        some = np.arange(0, len(val), 2)
        assert scored.alone(column, some) == _one_by_one(untrained_model, val, MASKS[column + 1],
                                                         np.intersect1d(has, some))
