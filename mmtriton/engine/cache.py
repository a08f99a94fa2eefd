"""A shared engine cache for many servers: ``<release>/<gpu product>/<precision>/<build>/``, where
the build is ``<onnx hash>-<files hash>``: the hash of every engine's ONNX, then of every other
file of the repository (configs, Python models, tokenizer, labels: a new builder image with the
same ONNX is a new build too).

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
FETCHING = ".mmtriton-fetching"   # in a fetch target until the copy is complete
HASH_DIGITS = 16
FILES_DIGITS = 8
ENGINE_FILES = ("model.plan", "manifest.json")
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


def files_hash(repository: Path) -> str:
    """One hash over every file but the engines and their manifests (which ``onnx_hash`` covers;
    plan bytes differ between two builds of the same ONNX)."""
    h = hashlib.sha256()
    for path in sorted(p for p in repository.rglob("*") if p.is_file() and p.name not in ENGINE_FILES):
        h.update(f"{path.relative_to(repository)}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:FILES_DIGITS]


def build_id(repository: Path, manifests: Optional[list[EngineManifest]] = None) -> str:
    manifests = repository_manifests(repository) if manifests is None else manifests
    return f"{onnx_hash(manifests)}-{files_hash(repository)}"


def _check_built_for(key: CacheKey, manifests: list[EngineManifest]) -> None:
    """Refuse to publish engines under a key that does not describe them."""
    for m in manifests:
        if m.precision != key.precision:
            raise EngineError(f"{m.model} was built as {m.precision}, not {key.precision}")
        if product_label(m.gpu_name) != key.product:
            raise EngineError(f"{m.model} was built on {m.gpu_name!r} (label {product_label(m.gpu_name)!r}), "
                              f"not on {key.product!r}: is the Job's node selector right?")


def _atomic_copy(src: Path, dst: Path) -> None:
    """Copy, then rename into place. Temporary folders a killed build left for ``dst`` go first;
    a concurrent publisher of the same build that renamed first wins (the content is the same)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    for stale in dst.parent.glob(f".{dst.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        shutil.copytree(src, tmp / "repo", symlinks=False)
        try:
            os.replace(tmp / "repo", dst)
        except OSError:
            if not dst.is_dir():
                raise
            log.info("%s was published concurrently", dst)
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
    digest = build_id(repository, manifests)
    target = key.folder(cache) / digest
    if target.is_dir():
        log.info("engine cache already holds %s", target)
    else:
        _atomic_copy(repository, target)
        log.info("published %s", target)
    _write_atomic(key.folder(cache) / CURRENT, digest + "\n")
    return target


def resolve(cache: Path, key: CacheKey, digest: Optional[str] = None) -> Path:
    """The cached repository for ``key`` and build ``digest`` (default: the current one)."""
    folder = key.folder(cache)
    if not digest:
        current = folder / CURRENT
        if not current.is_file():
            raise EngineError(f"no engines in the cache for {key.release}/{key.product}/{key.precision} "
                              f"({current} is missing): the engine-build Job of this pool has not run")
        digest = current.read_text().strip()
    path = folder / digest
    if not path.is_dir():
        raise EngineError(f"{path} is not in the engine cache: no build published {digest} "
                          f"for {key.product} ({key.precision})")
    return path


def fetch(cache: Path, key: CacheKey, to: Path, digest: Optional[str] = None) -> Path:
    """Copy the cached repository into ``to`` (the pod's emptyDir). A marker file stays there
    until the copy is complete, so a restarted init container clears its own partial copy; a
    folder with other content is refused."""
    src = resolve(cache, key, digest)
    to.mkdir(parents=True, exist_ok=True)
    marker = to / FETCHING
    if marker.exists():
        for child in to.iterdir():
            if child != marker:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    elif any(to.iterdir()):
        raise EngineError(f"{to} is not empty: engines are copied into a fresh folder")
    marker.write_text(str(src))
    shutil.copytree(src, to, dirs_exist_ok=True)
    marker.unlink()
    log.info("copied %s to %s", src, to)
    return src
