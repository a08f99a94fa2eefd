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
