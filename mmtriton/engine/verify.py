"""Refuse to serve engines built for another GPU or TensorRT: run before ``tritonserver`` starts.

Triton itself would load a mismatched plan and fail per model with a deserialisation error deep
in its log (or, across GPU SKUs, run untuned kernels silently). The container entrypoint calls
``mmtriton check-engines`` first and exits with the reasons instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from mmtriton.engine.device import DeviceInfo
from mmtriton.engine.manifest import FILENAME, EngineManifest, read_manifest, runtime_mismatches, runtime_notes
from mmtriton.errors import EngineError

PLAN = "model.plan"
REBUILD = "docker compose run --rm builder"
# sysexits' EX_CONFIG: the container exits with it on a mismatch, so that an operator (and the
# compose restart policy, which gives up after a few tries) can tell it from a crash.
ENGINE_MISMATCH_EXIT = 78


class EngineMismatchError(EngineError):
    """Engines built for another GPU architecture or TensorRT release: rebuild, do not restart."""


def engines_in(repository: Path) -> list[Path]:
    """Every ``<model>/<version>/model.plan`` of a repository."""
    return sorted(p for p in repository.glob(f"*/*/{PLAN}") if p.parent.name.isdigit())


def _manifests(repository: Path) -> list[tuple[str, Optional[EngineManifest], str]]:
    """(model, manifest or None, why it is unusable) for every engine: each manifest read once."""
    out = []
    for plan in engines_in(repository):
        model, manifest = plan.parent.parent.name, plan.with_name(FILENAME)
        if not manifest.is_file():
            out.append((model, None, f"{manifest} is missing; rebuild with `{REBUILD}`"))
            continue
        try:
            out.append((model, read_manifest(manifest), ""))
        except EngineError as e:
            out.append((model, None, str(e)))
    return out


def engine_problems(repository: Path, device: DeviceInfo) -> list[str]:
    """One line per engine that must not be served on ``device``; empty when all match."""
    problems = []
    for model, found, unusable in _manifests(repository):
        reasons = [unusable] if found is None else runtime_mismatches(found, device)
        problems += [f"{model}: {reason}" for reason in reasons]
    return problems


def engine_warnings(repository: Path, device: DeviceInfo) -> list[str]:
    """One line per engine that runs here but was built on another product of the same GPU
    architecture (unusable manifests are ``engine_problems``' to report)."""
    return [f"{model}: {note}" for model, found, _ in _manifests(repository) if found is not None
            for note in runtime_notes(found, device)]


def check_engines(repository: Path, device: DeviceInfo) -> int:
    """Number of engines checked; raises EngineMismatchError listing every mismatch."""
    plans = engines_in(repository)
    problems = engine_problems(repository, device)
    if problems:
        raise EngineMismatchError("refusing to serve engines that do not match this GPU/TensorRT "
                                  f"({device.gpu_name}, compute {device.compute_capability}, TensorRT "
                                  f"{device.tensorrt_version}); rebuild them on this host with "
                                  f"`{REBUILD}`:\n  " + "\n  ".join(problems))
    return len(plans)
