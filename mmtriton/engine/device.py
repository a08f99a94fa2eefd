"""Which GPU and which TensorRT a process would run engines on, without importing TensorRT.

A serialised engine only runs on the TensorRT version and GPU architecture it was built for.
The builder records both in the manifest; the server container checks them before Triton
starts. ``nvidia-smi`` exists wherever the NVIDIA container runtime exposes a GPU, and the
TensorRT version is read from the Python package, the NGC image's environment or the library
file name, whichever the image has (the Triton image has no ``tensorrt`` Python package).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from mmtriton.errors import EngineError

LIB_DIRS = (Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib/aarch64-linux-gnu"), Path("/usr/local/tensorrt/lib"),
            Path("/opt/tritonserver/backends/tensorrt"))
VERSION_ENV = ("TRT_VERSION", "TENSORRT_VERSION")
_LIB = re.compile(r"^libnvinfer\.so\.(\d+\.\d+\.\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class DeviceInfo:
    """What an engine is tied to: GPU model, compute capability and TensorRT version."""

    gpu_name: str
    compute_capability: str  # "9.0"
    tensorrt_version: str    # "10.13.3.9"


def parse_nvidia_smi(text: str) -> list[tuple[str, str]]:
    """(name, compute capability) per GPU from ``--query-gpu=name,compute_cap --format=csv,noheader``."""
    gpus = []
    for line in text.strip().splitlines():
        name, _, cap = line.rpartition(",")
        if not name or not re.fullmatch(r"\d+\.\d+", cap.strip()):
            raise EngineError(f"unexpected nvidia-smi output line: {line!r}")
        gpus.append((name.strip(), cap.strip()))
    return gpus


def query_gpus() -> list[tuple[str, str]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise EngineError("no NVIDIA GPU visible (nvidia-smi not found): TensorRT engines need one; "
                          "on a host without a GPU use the `cpu` compose profile (onnxruntime target)")
    proc = subprocess.run([smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise EngineError(f"nvidia-smi failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return parse_nvidia_smi(proc.stdout)


def version_from_libraries(dirs: Iterable[Path] = LIB_DIRS) -> Optional[str]:
    """The longest ``libnvinfer.so.X.Y.Z`` version found in ``dirs`` (the real file, not the links)."""
    found = []
    for d in dirs:
        if d.is_dir():
            found += [m.group(1) for p in d.iterdir() if (m := _LIB.match(p.name))]
    return max(found, key=lambda v: (tuple(int(x) for x in v.split(".")), len(v)), default=None)


def tensorrt_version(dirs: Iterable[Path] = LIB_DIRS) -> str:
    try:
        import tensorrt

        return str(tensorrt.__version__)
    except ImportError:
        pass
    for var in VERSION_ENV:
        if os.environ.get(var):
            return os.environ[var]
    version = version_from_libraries(dirs)
    if version is None:
        raise EngineError("TensorRT not found (no tensorrt package, $TRT_VERSION or libnvinfer.so.X.Y.Z): "
                          "build and serve engines inside the NGC images named in .env.example")
    return version


def current_device(index: int = 0) -> DeviceInfo:
    gpus = query_gpus()
    if not gpus:
        raise EngineError("nvidia-smi lists no GPU")
    if index >= len(gpus):
        raise EngineError(f"GPU {index} requested but only {len(gpus)} visible")
    name, cap = gpus[index]
    return DeviceInfo(name, cap, tensorrt_version())


def same_tensorrt(a: str, b: str) -> bool:
    """Engines are portable across builds of one TensorRT release: compare major.minor.patch."""
    return a.split(".")[:3] == b.split(".")[:3]
