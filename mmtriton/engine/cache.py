"""A shared engine cache for many servers: ``<release>/<gpu product>/<precision>/<onnx hash>/``.

On Kubernetes one build Job per GPU product writes a whole model repository (engines, their
manifests, the Python models and configs) into a volume, and every server pod of that product
copies it out at start. The key holds everything an engine depends on, so nothing is reused
across a retrain (new ONNX hash), an NGC release (new TensorRT) or a GPU product. Publishing is
atomic (copy to a temporary folder, then rename), so a pod never copies half a build; the
``current`` file of a product and precision names the hash the last build published, and is
replaced atomically too. The server's own engine check still runs on what was copied.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mmtriton.engine.manifest import EngineManifest, read_manifest
from mmtriton.engine.verify import engines_in
from mmtriton.errors import EngineError

log = logging.getLogger(__name__)
CURRENT = "current"
HASH_DIGITS = 16
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class CacheKey:
    release: str      # NGC release, e.g. 26.10: fixes the TensorRT version
    product: str      # node label nvidia.com/gpu.product, e.g. NVIDIA-H100-80GB-HBM3
    precision: str    # fp32 | fp16 | int8

    def __post_init__(self) -> None:
        for name in ("release", "product", "precision"):
            if not _SAFE.match(getattr(self, name)):
                raise EngineError(f"engine cache key part {name}={getattr(self, name)!r} is not a plain name "
                                  "(letters, digits, '.', '_', '-')")

    def folder(self, cache: Path) -> Path:
        return cache / self.release / self.product / self.precision


def product_label(gpu_name: str) -> str:
    """The GPU feature discovery label of a product: its name with spaces as '-'."""
    return gpu_name.strip().replace(" ", "-")


def repository_manifests(repository: Path) -> list[EngineManifest]:
    plans = engines_in(repository)
    if not plans:
        raise EngineError(f"{repository} holds no TensorRT engines (model.plan): build them with "
                          "`mmtriton deploy-build --target tensorrt`")
    return [read_manifest(p.parent / "manifest.json") for p in plans]


def onnx_hash(manifests: list[EngineManifest]) -> str:
    """One hash over every engine's ONNX (model name and sha256), in a stable order."""
    h = hashlib.sha256()
    for m in sorted(manifests, key=lambda m: m.model):
        h.update(f"{m.model}={m.onnx_sha256}\n".encode())
    return h.hexdigest()[:HASH_DIGITS]


def _check_built_for(key: CacheKey, manifests: list[EngineManifest]) -> None:
    """Refuse to publish engines under a key that does not describe them."""
    for m in manifests:
        if m.precision != key.precision:
            raise EngineError(f"{m.model} was built as {m.precision}, not {key.precision}")
        if product_label(m.gpu_name) != key.product:
            raise EngineError(f"{m.model} was built on {m.gpu_name!r} (label {product_label(m.gpu_name)!r}), "
                              f"not on {key.product!r}: is the Job's node selector right?")


def _atomic_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        shutil.copytree(src, tmp / "repo", symlinks=False)
        os.replace(tmp / "repo", dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def publish(repository: Path, cache: Path, key: CacheKey) -> Path:
    """Copy a built repository into the cache (once per hash) and mark it current."""
    manifests = repository_manifests(repository)
    _check_built_for(key, manifests)
    digest = onnx_hash(manifests)
    target = key.folder(cache) / digest
    if target.is_dir():
        log.info("engine cache already holds %s", target)
    else:
        _atomic_copy(repository, target)
        log.info("published %s", target)
    _write_atomic(key.folder(cache) / CURRENT, digest + "\n")
    return target


def resolve(cache: Path, key: CacheKey, digest: Optional[str] = None) -> Path:
    """The cached repository for ``key`` and ``digest`` (default: the current one)."""
    folder = key.folder(cache)
    if not digest:
        current = folder / CURRENT
        if not current.is_file():
            raise EngineError(f"no engines in the cache for {key.release}/{key.product}/{key.precision} "
                              f"({current} is missing): the engine-build Job of this pool has not run")
        digest = current.read_text().strip()
    path = folder / digest
    if not path.is_dir():
        raise EngineError(f"{path} is not in the engine cache: no build published ONNX hash {digest} "
                          f"for {key.product} ({key.precision})")
    return path


def fetch(cache: Path, key: CacheKey, to: Path, digest: Optional[str] = None) -> Path:
    """Copy the cached repository into ``to`` (an empty folder, e.g. the pod's emptyDir)."""
    src = resolve(cache, key, digest)
    to.mkdir(parents=True, exist_ok=True)
    if any(to.iterdir()):
        raise EngineError(f"{to} is not empty: engines are copied into a fresh folder")
    shutil.copytree(src, to, dirs_exist_ok=True)
    log.info("copied %s to %s", src, to)
    return src
