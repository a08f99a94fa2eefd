"""The manifest beside every ``model.plan``: what the engine was built from, with and for.

Two uses. The builder compares the manifest an engine *would* get with the one on disk and
skips the build when they are equal (same ONNX bytes, precision, profiles, GPU, TensorRT).
The server container compares the manifest with the GPU and TensorRT it runs on and refuses to
start on a mismatch, instead of letting Triton fail later with a deserialisation error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmtriton.engine.device import DeviceInfo, same_tensorrt
from mmtriton.engine.precision import recipe
from mmtriton.engine.profiles import BuildOptions, engine_profiles, profiles_to_json
from mmtriton.errors import EngineError
from mmtriton.spec.tensors import ModelSpec

FORMAT = 3  # 2: precision recipe; the ONNX hash is the converted graph's. 3: one profile per length bucket
FILENAME = "manifest.json"


@dataclass(frozen=True)
class EngineManifest:
    model: str
    preset: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    onnx_sha256: str
    precision: str
    recipe: str      # how the ONNX was converted to the precision (engine.precision.Recipe.id)
    workspace_mib: int
    profiles: list[dict[str, dict[str, list[int]]]]  # one per length bucket, in build order
    inputs: dict[str, str]   # tensor name -> dtype-table name (FP32, INT32...)
    outputs: dict[str, str]
    format: int = FORMAT
    build_seconds: float = field(default=0.0, compare=False)  # informational

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "EngineManifest":
        known = {f.name for f in dataclasses.fields(cls)}
        missing = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING} - set(raw)
        if missing:
            raise EngineError(f"engine manifest lacks {sorted(missing)}")
        return cls(**{k: v for k, v in raw.items() if k in known})


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_manifest(spec: ModelSpec, preset: str, onnx_path: Path, options: BuildOptions,
                      device: DeviceInfo) -> EngineManifest:
    """The manifest an engine built now from ``onnx_path`` would carry (IO from the spec)."""
    if not onnx_path.is_file():
        raise EngineError(f"{onnx_path} is missing; run `mmtriton export` first")
    return EngineManifest(
        model=spec.name, preset=preset, tensorrt_version=device.tensorrt_version, gpu_name=device.gpu_name,
        compute_capability=device.compute_capability, onnx_sha256=sha256_file(onnx_path),
        precision=options.precision.value, recipe=recipe(options.precision.value).id,
        workspace_mib=options.workspace_mib,
        profiles=profiles_to_json(engine_profiles(spec)),
        inputs={t.name: t.dtype.name for t in spec.inputs}, outputs={t.name: t.dtype.name for t in spec.outputs})


def differences(expected: EngineManifest, found: EngineManifest) -> list[str]:
    """Human-readable reasons why ``found`` is not the engine ``expected`` describes."""
    out = []
    for f in dataclasses.fields(EngineManifest):
        if f.compare and getattr(expected, f.name) != getattr(found, f.name):
            out.append(f"{f.name}: built with {getattr(found, f.name)!r}, wanted {getattr(expected, f.name)!r}")
    return out


def runtime_mismatches(found: EngineManifest, device: DeviceInfo) -> list[str]:
    """Why an engine cannot run here: another GPU architecture or another TensorRT release."""
    out = []
    if not same_tensorrt(found.tensorrt_version, device.tensorrt_version):
        out.append(f"built with TensorRT {found.tensorrt_version}, this container has {device.tensorrt_version}")
    if found.compute_capability != device.compute_capability:
        out.append(f"built for compute capability {found.compute_capability} ({found.gpu_name}), "
                   f"this GPU is {device.compute_capability} ({device.gpu_name})")
    return out


def runtime_notes(found: EngineManifest, device: DeviceInfo) -> list[str]:
    """What runs but is worth a rebuild: another product of the same architecture (e.g. an H100
    PCIe plan on an H100 SXM) loads and runs correctly, with kernels tuned for the other one.
    A warning, not a refusal: refusing would turn a working server into a restart loop."""
    if found.compute_capability == device.compute_capability and found.gpu_name != device.gpu_name:
        return [f"built on {found.gpu_name}, running on {device.gpu_name} (same compute capability "
                f"{device.compute_capability}; rebuild for kernels tuned to this GPU)"]
    return []


def read_manifest(path: Path) -> EngineManifest:
    try:
        return EngineManifest.from_dict(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, TypeError) as e:
        raise EngineError(f"cannot read engine manifest {path}: {e}") from e


def write_manifest(manifest: EngineManifest, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest.to_json())
    return path
