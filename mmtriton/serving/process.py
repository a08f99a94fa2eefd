"""The embedded server's process lifecycle: start, wait until ready, stop cleanly."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Optional

from mmtriton.errors import ServerError
from mmtriton.serving import procinfo
from mmtriton.serving.server import ServerConfig, check_port_free, command, find_bundle, prepare_backends, server_env

log = logging.getLogger(__name__)


class EmbeddedServer:
    """``with EmbeddedServer(cfg) as server:`` starts tritonserver and stops it on exit."""

    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.process: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None
        self.stream_log = False
        # Every stub seen once the server was ready: a stub killed later is no longer listed
        # under the server, but its /dev/shm region must still be removed at stop.
        self._stubs: list[procinfo.Stub] = []

    def start(self, timeout_s: float = 120.0, stream_log: bool = False) -> "EmbeddedServer":
        cfg = self.cfg
        self.stream_log = stream_log
        if not (cfg.model_repository / "multimodal" / "config.pbtxt").is_file():
            raise ServerError(f"{cfg.model_repository} is not a model repository; run `mmtriton repo` first")
        for port in (cfg.http_port, cfg.grpc_port, cfg.metrics_port):
            check_port_free(cfg.host, port)
        bundle = find_bundle()
        cfg.work_dir.mkdir(parents=True, exist_ok=True)
        backends = prepare_backends(bundle, cfg.work_dir)
        out = None
        if not stream_log:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = out = open(self.log_path, "ab")  # restarts append
        log.info("starting tritonserver on http %s, grpc %s (log: %s)", cfg.http_url, cfg.grpc_url,
                 "stdout" if stream_log else self.log_path)
        self.process = subprocess.Popen(command(cfg, backends), env=server_env(bundle, cfg.work_dir),
                                        stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True)
        self.wait_ready(timeout_s)
        self._stubs = procinfo.stubs(self.process.pid)
        return self

    @property
    def log_path(self) -> Path:
        return self.cfg.log_file or self.cfg.work_dir / "server.log"

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.cfg.http_url}/v2/health/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(f"tritonserver exited with code {self.process.returncode}:\n{self.log_tail()}")
            if self.is_ready():
                log.info("tritonserver is ready")
                return
            time.sleep(0.25)
        self.stop()
        raise ServerError(f"tritonserver was not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if self._log is None or not self.log_path.is_file():
            return "(log streamed to the console)"
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace_s: Optional[float] = None) -> Optional[int]:
        """SIGTERM, then SIGKILL if the server outlives ``grace_s`` (default: its exit timeout
        + 10 s); then wait for its stubs and unlink what they left in /dev/shm, so the next
        start finds a clean host."""
        grace_s = self.cfg.exit_timeout_s + 10 if grace_s is None else grace_s
        proc, self.process = self.process, None
        if proc is None:
            return None
        stubs, self._stubs = self._stubs, []
        if proc.poll() is None:
            live = procinfo.stubs(proc.pid)
            stubs += [s for s in live if s.pid not in {k.pid for k in stubs}]
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                log.warning("tritonserver ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()
        self._clean_up_after(stubs)
        if self._log is not None:
            self._log.close()
            self._log = None
        return proc.returncode

    @staticmethod
    def _clean_up_after(stubs: list) -> None:
        """Wait for the stubs, then unlink what they left in /dev/shm: 2.51 leaves the region of
        a stub that died (killed, crashed) behind, and nothing else would ever remove it."""
        try:
            procinfo.wait_exited(stubs, timeout_s=10)
        except TimeoutError as e:
            log.warning("after tritonserver exited: %s", e)
            return
        for region in procinfo.leftover_regions(stubs):
            log.warning("removing shared-memory region %s left behind by tritonserver", region)
            (procinfo.SHM / region).unlink(missing_ok=True)

    def wait(self) -> int:
        """Block until the server exits (foreground ``serve``)."""
        if self.process is None:
            raise ServerError("server is not running")
        return self.process.wait()

    def __enter__(self) -> "EmbeddedServer":
        return self if self.process is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
