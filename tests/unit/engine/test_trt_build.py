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


def test_no_precision_flag_is_ever_set_and_fp32_clears_tf32():
    from types import SimpleNamespace

    from mmtriton.engine.profiles import Precision
    from mmtriton.engine.trt_build import _precision

    trt = SimpleNamespace(BuilderFlag=SimpleNamespace(TF32="TF32"))  # the TensorRT 11 flags that remain
    config = _Config()
    _precision(trt, config, BuildOptions(precision=Precision.FP32))
    assert config.cleared == ["TF32"] and config.set == []
    for precision in (Precision.FP16, Precision.INT8):  # the ONNX graph carries the precision
        config = _Config()
        _precision(trt, config, BuildOptions(precision=precision))
        assert config.cleared == [] and config.set == []


def test_the_network_is_strongly_typed_where_the_flag_exists(tmp_path):
    from types import SimpleNamespace

    from mmtriton.engine.trt_build import _network

    made = []

    class Builder:
        def create_network(self, flags):
            made.append(flags)
            return SimpleNamespace()

    class Parser:
        num_errors = 0

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            return True

    ten = SimpleNamespace(NetworkDefinitionCreationFlag=SimpleNamespace(STRONGLY_TYPED=1), OnnxParser=Parser)
    eleven = SimpleNamespace(NetworkDefinitionCreationFlag=SimpleNamespace(), OnnxParser=Parser)
    _network(ten, Builder(), None, tmp_path / "m.onnx")
    _network(eleven, Builder(), None, tmp_path / "m.onnx")
    assert made == [1 << 1, 0]


@pytest.mark.parametrize("version, ok", [("10.16.1.11", True), ("11.4.0.106", True), ("8.6.1", False),
                                         ("9.3.0", False), ("12.0.0", False)])
def test_only_tensorrt_10_and_11_are_supported(version, ok):
    from mmtriton.engine.trt_build import check_version

    if ok:
        check_version(version)
    else:
        with pytest.raises(EngineError, match="10.x or 11.x"):
            check_version(version)
