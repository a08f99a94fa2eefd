"""The audio tower's output for a clip must not depend on the padding its batch added."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmtriton.models.audio import KERNEL, STRIDE, AudioEncoder, conv_lengths


@pytest.fixture(scope="module")
def encoder(graph):
    torch.manual_seed(0)
    frames = graph.audio_encoder.inputs[0].dims[0]
    return AudioEncoder(graph.preset.audio.n_mels, graph.preset.embed_dim, frames.max).eval(), frames


@pytest.mark.parametrize("length", [11, 12, 57, 160, 300, 301])
def test_embedding_ignores_padding_and_its_content(encoder, length):
    model, frames = encoder
    rng = np.random.default_rng(length)
    clip = torch.from_numpy(rng.standard_normal((1, length, 64)).astype(np.float32))
    alone = model(clip, torch.tensor([[length]], dtype=torch.int32))
    batch = torch.from_numpy(rng.standard_normal((3, frames.max, 64)).astype(np.float32) * 5)
    batch[1, :length] = clip[0]  # the rest of row 1 is loud garbage, as padding may be
    lengths = torch.tensor([[frames.max], [length], [frames.min]], dtype=torch.int32)
    with torch.no_grad():
        padded = model(batch, lengths)[1:2]
    assert torch.max(torch.abs(alone - padded)).item() < 1e-5


def test_conv_lengths_match_the_real_convolution():
    conv = torch.nn.Conv1d(1, 1, KERNEL, STRIDE, KERNEL // 2)
    for n in range(1, 80):
        real = conv(torch.zeros(1, 1, n)).shape[-1]
        assert conv_lengths(torch.tensor([n])).item() == real


def test_different_clips_give_different_embeddings(encoder):
    model, _ = encoder
    x = torch.randn(2, 100, 64)
    with torch.no_grad():
        out = model(x, torch.tensor([[100], [100]], dtype=torch.int32))
    assert torch.max(torch.abs(out[0] - out[1])).item() > 1e-3
