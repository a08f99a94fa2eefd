"""One dtype table: numpy, torch, Triton config and TensorRT names for every tensor type we use.

Token ids and masks are INT32 everywhere: TensorRT prefers 32-bit indices and the vocabulary
fits easily, so the decision is made once, here. The TensorRT column is what an engine built
from the exported ONNX reports for a tensor (``trt.DataType.<name>``); the engine manifest and
the repository checks compare against it.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np


class DType(enum.Enum):
    """A tensor element type, with its spelling in each framework."""

    FP32 = ("float32", "TYPE_FP32", "FP32", "float32", "FLOAT")
    FP16 = ("float16", "TYPE_FP16", "FP16", "float16", "HALF")
    INT32 = ("int32", "TYPE_INT32", "INT32", "int32", "INT32")
    INT64 = ("int64", "TYPE_INT64", "INT64", "int64", "INT64")
    BOOL = ("bool", "TYPE_BOOL", "BOOL", "bool", "BOOL")
    BYTES = ("object", "TYPE_STRING", "BYTES", "", "")

    def __init__(self, numpy_name: str, triton_config: str, triton_wire: str, torch_name: str,
                 tensorrt_name: str) -> None:
        self.numpy_name = numpy_name
        self.triton_config = triton_config
        self.triton_wire = triton_wire
        self.torch_name = torch_name
        self.tensorrt_name = tensorrt_name

    @property
    def numpy(self) -> np.dtype:
        """The numpy dtype (object for BYTES, as tritonclient expects)."""
        return np.dtype(self.numpy_name)

    def torch(self) -> Any:
        """The torch dtype; imports torch lazily because the spec must stay light."""
        import torch

        if not self.torch_name:
            raise TypeError(f"{self.name} has no torch equivalent")
        return getattr(torch, self.torch_name)


def from_tensorrt_name(name: str) -> DType:
    """The table row of a TensorRT data type name (``FLOAT``, ``INT32``...)."""
    for d in DType:
        if d.tensorrt_name and d.tensorrt_name == name:
            return d
    raise TypeError(f"TensorRT type {name!r} is not in the dtype table")


def from_numpy(dtype: np.dtype) -> DType:
    """The table row of a numpy dtype (used to check ONNX graph inputs against the spec)."""
    for d in DType:
        if d.numpy == np.dtype(dtype):
            return d
    raise TypeError(f"numpy dtype {dtype} is not in the dtype table")
