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
    """One engine with one execution context on the current CUDA device; each call selects the
    optimisation profile (one per length bucket) whose range holds the inputs' shapes."""

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

    def profile_for(self, shapes: dict[str, tuple[int, ...]]) -> int:
        """The first profile whose min..max holds every input shape (Triton picks the same way)."""
        for k in range(self.engine.num_optimization_profiles):
            if all(_within(shapes[n], self.engine.get_tensor_profile_shape(n, k)) for n in self.inputs):
                return k
        raise EngineError(f"no optimisation profile of this engine takes shapes {shapes}")

    def __call__(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch, keep = self.torch, []
        profile = self.profile_for({n: tuple(arrays[n].shape) for n in self.inputs})
        if profile != self.context.active_optimization_profile:
            self.context.set_optimization_profile_async(profile, self.stream.cuda_stream)
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


def _within(shape: tuple[int, ...], bounds) -> bool:
    """``bounds`` is TensorRT's (min, opt, max) of one input in one profile."""
    lo, _opt, hi = (tuple(b) for b in bounds)
    return len(shape) == len(lo) and all(a <= s <= b for s, a, b in zip(shape, lo, hi))
