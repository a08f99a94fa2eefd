"""The precision report: targets from the issue, census of low-precision nodes, ORT's refusals."""

from __future__ import annotations

import math

import onnx
from onnx import TensorProto, helper, numpy_helper

import numpy as np

from mmtriton.engine.precision_report import PrecisionParity, graph_census, ort_problem, to_markdown


def _model(path, half: bool):
    w = numpy_helper.from_array(np.ones((2, 2), np.float16 if half else np.float32), "w")
    dtype = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
                           helper.make_node("Relu", ["y"], ["z"], name="relu")], "g",
                          [helper.make_tensor_value_info("x", dtype, [2, 2])],
                          [helper.make_tensor_value_info("z", dtype, [2, 2])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_census_counts_nodes_fed_by_fp16_weights(tmp_path):
    assert graph_census(_model(tmp_path / "h.onnx", True), "fp16") == {"nodes": 2, "low_precision_nodes": 1}
    assert graph_census(_model(tmp_path / "f.onnx", False), "fp16") == {"nodes": 2, "low_precision_nodes": 0}


def test_ort_names_what_it_cannot_load(tmp_path):
    assert ort_problem(_model(tmp_path / "ok.onnx", False)) is None
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    assert ort_problem(bad)


def runs(top1: float, dp: float, precision: str = "fp16", error=None) -> PrecisionParity:
    return PrecisionParity(precision, "r", 1200, top1, dp, {"m": {"nodes": 1, "low_precision_nodes": 1, "ort_error": error}})


def test_targets_are_the_issues():
    assert runs(0.995, 0.01).met() and not runs(0.994, 0.001).met() and not runs(1.0, 0.011).met()
    assert runs(0.99, 0.9, "int8").met() and not runs(0.989, 0.0, "int8").met()
    assert not runs(1.0, 0.0, error="Could not find an implementation for X").met(), "a graph ORT cannot run fails"
    assert not PrecisionParity("fp16", "r").met() and math.isnan(PrecisionParity("fp16", "r").top1_agreement)


def test_markdown_lists_every_precision_and_model():
    text = to_markdown([runs(1.0, 0.004), runs(0.97, 0.9, "int8")], "mmtriton precision-parity", "cpu")
    assert "| fp16 | 1200 | 100.00% | 4.00e-03 |" in text and "| MISSED |" in text and "| met |" in text
