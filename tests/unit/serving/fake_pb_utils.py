"""A stand-in for ``triton_python_backend_utils`` with just the surface our models use, so the
Python-backend base class and models run in a unit test (the live-server tests prove the rest).

It mirrors the real module's contract: inputs looked up by name (None when absent), responses
carry either output tensors or a ``TritonError`` with a code, requests can be cancelled."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


class TritonError:
    INTERNAL, INVALID_ARG, CANCELLED = "INTERNAL", "INVALID_ARG", "CANCELLED"

    def __init__(self, msg: str, code: str = "INTERNAL") -> None:
        self.msg, self.code = msg, code

    def message(self) -> str:
        return self.msg


class Tensor:
    def __init__(self, name: str, array: np.ndarray) -> None:
        self._name, self._array = name, array

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array

    def shape(self) -> tuple:
        return self._array.shape


@dataclass
class InferenceResponse:
    output_tensors: list = field(default_factory=list)
    error: Optional[TritonError] = None

    def outputs(self) -> dict[str, np.ndarray]:
        return {t.name(): t.as_numpy() for t in self.output_tensors}


@dataclass
class Request:
    inputs: dict[str, np.ndarray]
    cancelled: bool = False

    def is_cancelled(self) -> bool:
        return self.cancelled


def get_input_tensor_by_name(request: Request, name: str) -> Optional[Tensor]:
    return Tensor(name, request.inputs[name]) if name in request.inputs else None


class Logger:
    records: list = []

    @classmethod
    def log_error(cls, msg: str) -> None:
        cls.records.append(("error", msg))

    @classmethod
    def log_warn(cls, msg: str) -> None:
        cls.records.append(("warn", msg))

    @classmethod
    def log_info(cls, msg: str) -> None:
        cls.records.append(("info", msg))


def install() -> types.ModuleType:
    """Make ``import triton_python_backend_utils`` return this module."""
    module = sys.modules[__name__]
    sys.modules["triton_python_backend_utils"] = module
    return module
