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
    """The real towers (pretrained backbones, the calibrated speech path) with freshly initialised heads, in eval mode."""
    import torch

    from mmtriton.models.multimodal import MultimodalModel, Sources
    from mmtriton.resources import default_image_weights, default_speech_weights, default_text_model
    from mmtriton.training.run import calibrate_speech

    torch.manual_seed(0)
    speech = default_speech_weights()
    model = MultimodalModel(graph, Sources(default_text_model(), str(default_image_weights()),
                                           None if speech is None else str(speech)))
    calibrate_speech(model, graph)
    return model.eval()


@pytest.fixture()
def built_repo(graph):
    """Lays out a repository as `mmtriton deploy-build --target tensorrt` writes it (4 engines with
    manifests built on an H100 by TensorRT 11.4, fp16, plus an ensemble config): a factory."""
    from mmtriton.engine.device import DeviceInfo
    from mmtriton.engine.manifest import expected_manifest, write_manifest
    from mmtriton.engine.profiles import BuildOptions

    def build(tmp_path: Path, onnx_bytes: bytes = b"onnx-v1", device: DeviceInfo | None = None,
              name: str = "repo") -> Path:
        device = device or DeviceInfo("NVIDIA H100 80GB HBM3", "9.0", "11.4.0")
        onnx = tmp_path / f"{name}.onnx"
        onnx.write_bytes(onnx_bytes)
        root = tmp_path / name
        for spec in graph.encoders + (graph.fusion,):
            version = root / spec.name / "1"
            version.mkdir(parents=True)
            (version / "model.plan").write_bytes(b"plan:" + onnx_bytes)
            write_manifest(expected_manifest(spec, "demo", onnx, BuildOptions(), device), version / "manifest.json")
        (root / "multimodal").mkdir()
        (root / "multimodal" / "config.pbtxt").write_text("name: 'multimodal'\n")
        return root

    return build
