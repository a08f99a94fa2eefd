"""Run the ``tritonserver`` binary bundled in the ``nvidia-pytriton`` wheel, without Docker.

Development server only: Triton 2.51.0 has known CVEs, so it binds 127.0.0.1 unless told
otherwise. Production uses a current NGC image (docker-compose.yml).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from mmtriton.errors import ServerError
from mmtriton.paths import Artifacts

log = logging.getLogger(__name__)
# APIs that change or reveal server state; inference, health and metadata stay open.
RESTRICTED_APIS = ("model-repository", "shared-memory", "statistics", "trace", "logging")
ADMIN_HEADER = "admin-key"
ADMIN_KEY_ENV = "MMTRITON_ADMIN_KEY"


@dataclass(frozen=True)
class ServerConfig:
    model_repository: Path
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    exit_timeout_s: int = 5
    log_file: Optional[Path] = None
    work_dir: Path = field(default_factory=lambda: Artifacts.default().triton)
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    # None: every API open (the benchmark harness's private server: perf_analyzer cannot send
    # the key over gRPC). Otherwise RESTRICTED_APIS need header ``admin-key: <key>``.
    admin_key: Optional[str] = field(default=None, repr=False)

    @property
    def admin_headers(self) -> dict[str, str]:
        """HTTP headers that unlock the restricted APIs (gRPC: prefix ``triton-grpc-protocol-``)."""
        return {ADMIN_HEADER: self.admin_key} if self.admin_key else {}

    @property
    def http_url(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"


@dataclass(frozen=True)
class Bundle:
    """Paths inside the nvidia-pytriton wheel."""

    binary: Path
    libs: Path
    python_backend: Path
    stub: Path


def find_bundle() -> Bundle:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("nvidia-pytriton is not installed; run `make setup` (it bundles tritonserver 2.51.0)")
    root = Path(list(spec.submodule_search_locations)[0]) / "tritonserver"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle = Bundle(root / "bin" / "tritonserver", root.parents[1] / "nvidia_pytriton.libs",
                    root / "backends" / "python", root / "python_backend_stubs" / version / "triton_python_backend_stub")
    for what, path in (("tritonserver binary", bundle.binary), ("Python backend", bundle.python_backend),
                       (f"Python {version} backend stub", bundle.stub), ("bundled libraries", bundle.libs)):
        if not path.exists():
            raise ServerError(f"{what} not found at {path}; reinstall nvidia-pytriton==0.7.0")
    return bundle


def prepare_backends(bundle: Bundle, work_dir: Path) -> Path:
    """A backends folder with the Python backend and the stub for this interpreter."""
    target = work_dir / "backends" / "python"
    target.mkdir(parents=True, exist_ok=True)
    for src in (bundle.python_backend / "libtriton_python.so", bundle.python_backend / "triton_python_backend_utils.py",
                bundle.stub):
        dst = target / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copy2(src, dst)
    return target.parent


def server_env(bundle: Bundle, work_dir: Path) -> dict[str, str]:
    """The stub finds our packages through the venv whose bin/ is first on PATH."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(bundle.libs), env.get("LD_LIBRARY_PATH", "")) if p)
    env.setdefault("NUMBA_CACHE_DIR", str((work_dir / "numba_cache").resolve()))
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ServerError(f"port {host}:{port} is in use ({e}); pass other ports") from e


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def admin_key(work_dir: Path) -> str:
    """The development server's admin key: $MMTRITON_ADMIN_KEY, else one generated once and kept in
    ``<work_dir>/admin-key`` (mode 0600) so that a user can read it; never logged."""
    if os.environ.get(ADMIN_KEY_ENV):
        return os.environ[ADMIN_KEY_ENV]
    path = work_dir / "admin-key"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    work_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    log.info("generated an admin key for the restricted APIs in %s", path)
    return key


def restriction_args(cfg: ServerConfig) -> list[str]:
    if not cfg.admin_key:
        return []
    apis = ",".join(RESTRICTED_APIS)
    return [f"--http-restricted-api={apis}:{ADMIN_HEADER}={cfg.admin_key}",
            f"--grpc-restricted-protocol={apis}:{ADMIN_HEADER}={cfg.admin_key}"]


def command(cfg: ServerConfig, backends: Path) -> list[str]:
    return [
        str(find_bundle().binary), f"--model-repository={cfg.model_repository.resolve()}",
        f"--backend-directory={backends.resolve()}", "--model-control-mode=none",
        f"--http-address={cfg.host}", f"--http-port={cfg.http_port}",
        f"--grpc-address={cfg.host}", f"--grpc-port={cfg.grpc_port}",
        f"--metrics-address={cfg.host}", f"--metrics-port={cfg.metrics_port}",
        f"--exit-timeout-secs={cfg.exit_timeout_s}", "--strict-readiness=true", *restriction_args(cfg),
        *cfg.extra_args,
    ]
