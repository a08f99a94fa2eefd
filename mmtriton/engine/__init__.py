"""ONNX -> TensorRT engines: profiles from the spec, manifests, the build, the runtime check.

Only ``trt_build``, ``calibration`` and ``runner`` import TensorRT (lazily, inside functions);
everything else runs on any machine and is unit-tested here.
"""
