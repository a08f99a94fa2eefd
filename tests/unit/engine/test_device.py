"""GPU and TensorRT detection without TensorRT: nvidia-smi output, NGC environment, library names."""

from __future__ import annotations

import sys

import pytest

from mmtriton.engine import device
from mmtriton.errors import EngineError


def _no_tensorrt_package(monkeypatch) -> None:
    """As in the Triton image: no tensorrt Python package, no version variables."""
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` raises ImportError
    for var in device.VERSION_ENV:
        monkeypatch.delenv(var, raising=False)


def test_nvidia_smi_lines_parse_into_name_and_compute_capability():
    text = "NVIDIA H200, 9.0\nNVIDIA GeForce RTX 4090, 8.9\n"
    assert device.parse_nvidia_smi(text) == [("NVIDIA H200", "9.0"), ("NVIDIA GeForce RTX 4090", "8.9")]
    with pytest.raises(EngineError, match="unexpected nvidia-smi output"):
        device.parse_nvidia_smi("No devices were found")


def test_no_gpu_here_is_a_clear_error_pointing_to_the_cpu_profile(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineError, match="cpu"):
        device.current_device()


def test_tensorrt_version_from_the_library_file_name(tmp_path, monkeypatch):
    for name in ("libnvinfer.so", "libnvinfer.so.10", "libnvinfer.so.10.13.3", "libnvinfer_plugin.so.10.13.3",
                 "libnvinfer.so.8.6.1"):
        (tmp_path / name).write_bytes(b"")
    assert device.version_from_libraries([tmp_path, tmp_path / "missing"]) == "10.13.3"
    _no_tensorrt_package(monkeypatch)
    assert device.tensorrt_version([tmp_path]) == "10.13.3"
    monkeypatch.setenv("TRT_VERSION", "10.14.1.48")
    assert device.tensorrt_version([tmp_path]) == "10.14.1.48"


def test_no_tensorrt_anywhere_is_a_clear_error(tmp_path, monkeypatch):
    _no_tensorrt_package(monkeypatch)
    with pytest.raises(EngineError, match="TensorRT not found"):
        device.tensorrt_version([tmp_path])
