from __future__ import annotations

import numpy as np
import torch

from mmtriton.models.fusion import FusionHead, FusionServing
from mmtriton.models.text import mean_pool


def _fusion():
    torch.manual_seed(0)
    return FusionServing(FusionHead(16, 12, 10)).eval()


def test_absent_modality_values_do_not_matter():
    model = _fusion()
    img, aud, txt = torch.randn(4, 16), torch.randn(4, 16), torch.randn(4, 16)
    on, off = torch.ones(4, 1), torch.zeros(4, 1)
    with torch.no_grad():
        a = model(img, aud, txt, on, off, on)
        b = model(img, aud * 100 + 3, txt, on, off, on)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def test_serving_outputs_are_probabilities_and_the_fused_embedding():
    model = _fusion()
    args = [torch.randn(5, 16) for _ in range(3)] + [torch.ones(5, 1)] * 3
    with torch.no_grad():
        probs, fused = model(*args)
        logits, head_fused = model.head(*args)
    assert torch.allclose(probs.sum(dim=1), torch.ones(5), atol=1e-6)
    assert torch.equal(probs.argmax(dim=1), logits.argmax(dim=1))
    assert torch.equal(fused, head_fused) and fused.shape == (5, 12)


def test_mean_pool_ignores_padded_tokens():
    hidden = torch.randn(2, 7, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0, 0], [1] * 7])
    pooled = mean_pool(hidden, mask)
    assert torch.allclose(pooled[0], hidden[0, :3].mean(dim=0), atol=1e-6)
    assert torch.allclose(pooled[1], hidden[1].mean(dim=0), atol=1e-6)


def test_text_tower_output_does_not_depend_on_batch_padding(untrained_model, preprocessor):
    short, long = "seven", "a much longer caption that forces padding of the short one in its batch"
    ids1, mask1 = preprocessor.text([short])
    ids2, mask2 = preprocessor.text([short, long])
    assert ids2.shape[1] > ids1.shape[1]
    with torch.no_grad():
        alone = untrained_model.text(torch.from_numpy(ids1), torch.from_numpy(mask1))
        batched = untrained_model.text(torch.from_numpy(ids2), torch.from_numpy(mask2))[:1]
    assert np.max(np.abs(alone.numpy() - batched.numpy())) < 1e-5
