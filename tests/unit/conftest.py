"""Fixtures for the data/model/training/export tests: a tiny generated data set and an untrained model."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A small but real data set: espeak-ng speech, rendered digits, captions (train 40/val 20/test 30)."""
    from mmtriton.data.generate import default_plans, generate_split

    root = tmp_path_factory.mktemp("data")
    for plan in default_plans(train=40, val=20, test=30, seed=7):
        generate_split(plan, root, workers=1)
    return root


@pytest.fixture(scope="session")
def untrained_model(graph):
    """The real towers (pretrained backbones) with freshly initialised heads, in eval mode."""
    import torch

    from mmtriton.models.multimodal import MultimodalModel, Sources
    from mmtriton.resources import default_image_weights, default_text_model

    torch.manual_seed(0)
    return MultimodalModel(graph, Sources(default_text_model(), str(default_image_weights()))).eval()
