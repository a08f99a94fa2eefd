from __future__ import annotations


import pytest
import torch

from mmtriton.errors import CheckpointError
from mmtriton.training.checkpoint import load_model, read_checkpoint, save_checkpoint


def test_round_trip_restores_trained_weights(tmp_path, untrained_model, graph):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, untrained_model, graph, _sources(untrained_model), {"metrics": {"x": 1}})
    loaded, loaded_graph, payload = load_model(path)
    assert loaded_graph is graph and payload["metrics"] == {"x": 1}
    assert payload["preset_config"]["image"]["size"] == graph.preset.image.size
    args = [torch.randn(3, graph.preset.embed_dim) for _ in range(3)] + [torch.ones(3, 1)] * 3
    with torch.no_grad():
        assert torch.equal(loaded.fusion(*args)[0], untrained_model.fusion(*args)[0])
    x = torch.randn(2, 3, graph.preset.image.size, graph.preset.image.size)
    with torch.no_grad():
        assert torch.allclose(loaded.image(x), untrained_model.image(x), atol=1e-6)


def test_changed_preprocessing_constants_are_refused(tmp_path, untrained_model, graph):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, untrained_model, graph, _sources(untrained_model), {})
    payload = read_checkpoint(path)
    payload["preset_config"]["audio"]["n_mels"] = 80
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="different preprocessing"):
        load_model(path)


def test_changed_request_limits_keep_the_checkpoint_usable(tmp_path, untrained_model, graph):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, untrained_model, graph, _sources(untrained_model), {})
    payload = read_checkpoint(path)
    payload["preset_config"]["text"]["max_bytes"] = 16 * 1024  # e.g. trained before the limits changed
    payload["preset_config"]["text"].pop("max_chars")
    payload["preset_config"]["image"]["max_pixels"] = 1
    torch.save(payload, path)
    loaded, loaded_graph, _ = load_model(path)
    assert loaded_graph is graph, "the checkpoint serves the current spec, limits included"
    x = torch.randn(2, 3, graph.preset.image.size, graph.preset.image.size)
    with torch.no_grad():
        assert torch.allclose(loaded.image(x), untrained_model.image(x), atol=1e-6)


def test_missing_or_damaged_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="mmtriton train"):
        read_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        read_checkpoint(bad)


def _sources(model):
    from mmtriton.models.multimodal import Sources
    from mmtriton.resources import default_image_weights, default_speech_weights, default_text_model

    speech = default_speech_weights()
    return Sources(default_text_model(), str(default_image_weights()), None if speech is None else str(speech))
