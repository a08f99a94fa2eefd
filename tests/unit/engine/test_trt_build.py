"""Without TensorRT (these machines) the build fails early with a message that says where to run it."""

from __future__ import annotations

import sys

import pytest

from mmtriton.engine.profiles import BuildOptions
from mmtriton.engine.trt_build import build_plan
from mmtriton.errors import EngineError


def test_missing_tensorrt_names_the_builder_image(graph, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(EngineError, match="docker compose run --rm builder"):
        build_plan(tmp_path / "x.onnx", graph.fusion, BuildOptions())


class _Config:
    """Records the builder-config calls ``_precision`` makes (the flag values are TensorRT's enums)."""

    def __init__(self) -> None:
        self.cleared, self.set = [], []

    def clear_flag(self, flag) -> None:
        self.cleared.append(flag)

    def set_flag(self, flag) -> None:
        self.set.append(flag)


def test_fp32_builds_clear_tf32_and_set_no_precision_flag():
    from types import SimpleNamespace

    from mmtriton.engine.profiles import Precision
    from mmtriton.engine.trt_build import _precision

    trt = SimpleNamespace(BuilderFlag=SimpleNamespace(TF32="TF32"))  # the TensorRT 11 flags that remain
    config = _Config()
    _precision(trt, config, BuildOptions(precision=Precision.FP32), None, None)
    assert config.cleared == ["TF32"] and config.set == []
    with pytest.raises(EngineError, match="FP16"):  # TensorRT 11: no weakly-typed FP16 flag to set
        _precision(trt, _Config(), BuildOptions(precision=Precision.FP16), None, None)
