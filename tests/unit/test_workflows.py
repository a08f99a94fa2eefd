"""The workflow layer's decisions that need no trained model: locations, option checks, and the
up-front "run make demo first" message."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmtriton import workflows as wf
from mmtriton.errors import WorkflowError
from mmtriton.paths import Artifacts


@pytest.fixture
def art(tmp_path, monkeypatch) -> Artifacts:
    monkeypatch.setenv("MMTRITON_ARTIFACTS", str(tmp_path / "elsewhere"))
    return Artifacts.default()


def test_every_location_honours_mmtriton_artifacts(art, tmp_path):
    from mmtriton.serving.server import ServerConfig

    root = tmp_path / "elsewhere"
    assert art.root == root and art.checkpoint("demo").is_relative_to(root)
    assert ServerConfig(Path("repo")).work_dir == root / "triton", "the embedded server's logs and key go there too"
    opts = wf.engine_options(art, "demo", "fp32")
    assert opts.timing_cache == root / "demo" / "engines" / "timing.cache"


def test_missing_artifacts_are_named_before_any_work(art):
    with pytest.raises(WorkflowError, match="make demo") as info:
        wf.require_built(art, "demo")
    for missing in (art.manifest("test"), art.checkpoint("demo")):
        assert str(missing) in str(info.value)
    with pytest.raises(WorkflowError) as info:
        wf.require_built(art, "demo", need_checkpoint=False)
    assert str(art.checkpoint("demo")) not in str(info.value)


def test_bad_options_are_refused_with_the_allowed_values(art):
    from mmtriton.training.loop import TrainConfig

    with pytest.raises(WorkflowError, match="fp32"):
        wf.engine_options(art, "demo", "int4")
    with pytest.raises(WorkflowError, match="tensorrt"):
        wf.build_repository(art, "demo", "tflite")
    with pytest.raises(WorkflowError, match="adam or sgd"):
        wf.ensure_trained(art, "demo", TrainConfig(optimizer="rmsprop"))
    with pytest.raises(WorkflowError, match="tensorrt or onnxruntime"):
        wf.deploy_build(art, "demo", "embedded", art.root / "out")
    assert not art.root.exists(), "nothing was written for a refused request"


def test_a_checkpoint_from_older_model_code_is_retrained_not_reused(art):
    """Weights of format 1 load into today's model (same tensors) but were trained without the
    speech lead and the centred ink; only the recorded format tells them apart."""
    import json

    from mmtriton.training.checkpoint import FORMAT

    art.checkpoint("demo").parent.mkdir(parents=True)
    art.checkpoint("demo").write_bytes(b"weights")
    record = {"data_fingerprint": "abc", "checkpoint_format": FORMAT}
    art.metrics("demo").write_text(json.dumps(record))
    assert wf.stale_reason(art, "demo", "abc") is None
    for old in ({"data_fingerprint": "abc"}, {**record, "checkpoint_format": FORMAT - 1}):
        art.metrics("demo").write_text(json.dumps(old))
        assert f"this code reads {FORMAT}" in wf.stale_reason(art, "demo", "abc")
