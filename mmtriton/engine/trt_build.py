"""The TensorRT calls: ONNX parser -> strongly typed network -> builder config -> serialised plan.

Runs only where the ``tensorrt`` Python package and a GPU exist (the NGC builder image);
imported lazily by ``mmtriton.engine.build``. One code path for TensorRT 10.x and 11.x: the
network is strongly typed (10 takes the flag; 11 has no other kind), so the precision is the
ONNX graph's (``engine.precision``) and no FP16/INT8 flag or calibrator is ever set; FP32 turns
TF32 off. Memory is limited through memory pools, the timing cache persists between builds.
Every TensorRT name used here is checked against the 10.x and 11.x bindings by
tests/unit/engine/test_tensorrt_api.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from mmtriton.engine.profiles import BuildOptions, Precision, engine_profiles
from mmtriton.errors import EngineError
from mmtriton.spec.dtypes import from_tensorrt_name
from mmtriton.spec.tensors import ModelSpec

log = logging.getLogger(__name__)


def _trt():
    try:
        import tensorrt as trt
    except ImportError as e:
        raise EngineError("the tensorrt Python package is not installed: build engines in the builder image "
                          "(docker compose run --rm builder) or any NGC TensorRT/PyTorch container") from e
    return trt


SUPPORTED_MAJORS = (10, 11)


def check_version(version: str) -> None:
    """TensorRT 8/9 build weakly typed networks from builder flags: refused, with the fix."""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise EngineError(f"cannot read the TensorRT version {version!r}") from None
    if major not in SUPPORTED_MAJORS:
        raise EngineError(f"TensorRT {version} is not supported: engines are built strongly typed with TensorRT "
                          f"10.x or 11.x (NGC 24.05 or newer; the pinned release is 26.10)")


def _logger(trt):
    return trt.Logger(trt.Logger.WARNING)


def _network(trt, builder, logger, onnx_path: Path):
    flags = 0
    typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if typed is not None:  # 10.x: opt in; 11.x: every network is strongly typed
        flags |= 1 << int(typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineError(f"TensorRT cannot parse {onnx_path}: {errors}")
    return network, parser


def _check_network_io(network, spec: ModelSpec) -> None:
    """The ONNX graph's inputs must be the spec's, in name and dtype, or the configs lie."""
    got = {network.get_input(i).name: network.get_input(i).dtype.name for i in range(network.num_inputs)}
    want = {t.name: t.dtype.tensorrt_name for t in spec.inputs}
    if got != want:
        raise EngineError(f"{spec.name}: ONNX inputs {got} differ from the spec {want}; re-export")


def _add_profiles(builder, config, spec: ModelSpec) -> None:
    """One optimisation profile per length bucket, in the order the Triton config lists them."""
    for shapes in engine_profiles(spec):
        profile = builder.create_optimization_profile()
        for name, p in shapes.items():
            profile.set_shape(name, p.min, p.opt, p.max)
        config.add_optimization_profile(profile)


def _precision(trt, config, options: BuildOptions) -> None:
    """No precision flag: the strongly typed graph decides. TensorRT enables TF32 by default on
    Ampere and newer, so "FP32" matmuls and convolutions would round their inputs to 10 mantissa
    bits: FP32 means FP32 here. FP16/INT8 graphs keep TF32 for the layers ModelOpt left FP32."""
    if options.precision is Precision.FP32:
        config.clear_flag(trt.BuilderFlag.TF32)


def _timing_cache(config, path: Optional[Path]):
    data = path.read_bytes() if path is not None and path.is_file() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, ignore_mismatch=False)
    return cache


def _save_timing_cache(config, path: Optional[Path]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(memoryview(config.get_timing_cache().serialize())))
    tmp.replace(path)


def build_plan(onnx_path: Path, spec: ModelSpec, options: BuildOptions) -> bytes:
    """A serialised engine for ``spec`` from ``onnx_path``; raises EngineError with TensorRT's reason."""
    trt = _trt()
    check_version(trt.__version__)
    logger = _logger(trt)
    builder = trt.Builder(logger)
    network, _parser = _network(trt, builder, logger, onnx_path)
    _check_network_io(network, spec)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_bytes)
    _add_profiles(builder, config, spec)
    _precision(trt, config, options)
    _timing_cache(config, options.timing_cache)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineError(f"TensorRT failed to build {spec.name} ({options.precision.value}); see its log above")
    _save_timing_cache(config, options.timing_cache)
    return bytes(memoryview(serialized))


def plan_io(plan: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(inputs, outputs) of a serialised engine: tensor name -> dtype-table name."""
    trt = _trt()
    engine = trt.Runtime(_logger(trt)).deserialize_cuda_engine(plan)
    if engine is None:
        raise EngineError("TensorRT cannot deserialise the engine it just built")
    ins, outs = {}, {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        dtype = from_tensorrt_name(engine.get_tensor_dtype(name).name).name
        (ins if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else outs)[name] = dtype
    return ins, outs
