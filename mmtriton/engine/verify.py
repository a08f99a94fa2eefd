"""Refuse to serve engines built for another GPU or TensorRT: run before ``tritonserver`` starts.

Triton itself would load a mismatched plan and fail per model with a deserialisation error deep
in its log (or, across GPU SKUs, run untuned kernels silently). The container entrypoint calls
``mmtriton check-engines`` first and exits with the reasons instead.
"""

from __future__ import annotations

from pathlib import Path

from mmtriton.engine.device import DeviceInfo
from mmtriton.engine.manifest import FILENAME, read_manifest, runtime_mismatches
from mmtriton.errors import EngineError

PLAN = "model.plan"


def engines_in(repository: Path) -> list[Path]:
    """Every ``<model>/<version>/model.plan`` of a repository."""
    return sorted(p for p in repository.glob(f"*/*/{PLAN}") if p.parent.name.isdigit())


def engine_problems(repository: Path, device: DeviceInfo) -> list[str]:
    """One line per engine that must not be served on ``device``; empty when all match."""
    problems = []
    for plan in engines_in(repository):
        model = plan.parent.parent.name
        manifest = plan.with_name(FILENAME)
        if not manifest.is_file():
            problems.append(f"{model}: {manifest} is missing; rebuild with `docker compose run --rm builder`")
            continue
        try:
            found = read_manifest(manifest)
        except EngineError as e:
            problems.append(f"{model}: {e}")
            continue
        problems += [f"{model}: {reason}" for reason in runtime_mismatches(found, device)]
    return problems


def check_engines(repository: Path, device: DeviceInfo) -> int:
    """Number of engines checked; raises EngineError listing every mismatch."""
    plans = engines_in(repository)
    problems = engine_problems(repository, device)
    if problems:
        raise EngineError("refusing to serve engines that do not match this GPU/TensorRT "
                          f"({device.gpu_name}, compute {device.compute_capability}, TensorRT "
                          f"{device.tensorrt_version}); rebuild them on this host with "
                          "`docker compose run --rm builder`:\n  " + "\n  ".join(problems))
    return len(plans)
