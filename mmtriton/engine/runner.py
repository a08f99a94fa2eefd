"""Run a serialised engine from numpy inputs (parity tests, INT8 calibration checks, gpu_check).

Device buffers come from PyTorch (present in the NGC builder image) so no extra CUDA binding
is needed; TensorRT 10's name-based API: set each input's shape and address, allocate outputs
at the shapes the context infers, enqueue on one stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmtriton.errors import EngineError
from mmtriton.spec.dtypes import from_tensorrt_name


class TrtRunner:
    """One engine with one execution context (profile 0) on the current CUDA device."""

    def __init__(self, plan: Path) -> None:
        import tensorrt as trt
        import torch

        if not torch.cuda.is_available():
            raise EngineError("CUDA is not available to PyTorch; TensorRT engines need a GPU")
        self.trt, self.torch = trt, torch
        self.engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(plan.read_bytes())
        if self.engine is None:
            raise EngineError(f"TensorRT cannot deserialise {plan} (other TensorRT version or GPU?)")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]

    def _dtype(self, name: str):
        return from_tensorrt_name(self.engine.get_tensor_dtype(name).name).torch()

    def __call__(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch, keep = self.torch, []
        for name in self.inputs:
            t = torch.from_numpy(np.ascontiguousarray(arrays[name])).to("cuda", self._dtype(name))
            keep.append(t)
            self.context.set_input_shape(name, tuple(t.shape))
            self.context.set_tensor_address(name, t.data_ptr())
        out = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            out[name] = torch.empty(shape, dtype=self._dtype(name), device="cuda")
            self.context.set_tensor_address(name, out[name].data_ptr())
        torch.cuda.current_stream().synchronize()
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise EngineError("TensorRT execution failed")
        self.stream.synchronize()
        return {name: t.float().cpu().numpy() if t.dtype == torch.float16 else t.cpu().numpy() for name, t in out.items()}
