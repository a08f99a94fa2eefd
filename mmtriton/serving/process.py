"""The embedded server's process lifecycle: start, wait until ready, stop cleanly.

Stopping must be clean at any moment: while starting, while the supervisor restarts the
server, under load, and when the launcher itself is killed. Three things make it so:
- one lock serialises start and stop, and ``close()`` makes a start in progress give up;
- tritonserver runs in a process group of its own, which is killed once the server is gone,
  so no stub outlives it;
- tritonserver gets a parent-death signal (SIGTERM), so it never outlives the launcher, not
  even a SIGKILLed one. Linux sends it when the *thread* that forked the child ends, so every
  server is forked by one long-lived spawner thread, never by a supervisor thread that stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Optional

from mmtriton.errors import ServerError
from mmtriton.serving import procinfo
from mmtriton.serving.server import ServerConfig, check_port_free, command, find_bundle, prepare_backends, server_env

log = logging.getLogger(__name__)
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmtriton-spawner")


def parent_death_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM --``: util-linux (essential on Debian) sets the signal, then
    execs tritonserver, which keeps it."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        log.warning("setpriv not found: tritonserver would outlive a killed launcher")
        return []
    return [setpriv, "--pdeathsig", "TERM", "--"]


def spawn(argv: list[str], **popen_kwargs) -> subprocess.Popen:
    """Fork from the spawner thread, which lives as long as this process (see module docstring)."""
    return _SPAWNER.submit(subprocess.Popen, parent_death_prefix() + argv, **popen_kwargs).result()


def kill_group(pgid: int) -> None:
    """SIGKILL whatever is left in the server's process group (stubs of a crashed server)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class EmbeddedServer:
    """``with EmbeddedServer(cfg) as server:`` starts tritonserver and stops it on exit."""

    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.process: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None
        self.stream_log = False
        # /dev/shm before this server started: what is new and unmapped at stop is its leftover.
        self._regions_before: set[str] = set()
        self._lifecycle = threading.RLock()
        # Set by close(): no new start, and a start waiting for readiness stops at once.
        self.closing = threading.Event()

    def start(self, timeout_s: float = 120.0, stream_log: bool = False) -> "EmbeddedServer":
        with self._lifecycle:
            if self.closing.is_set():
                raise ServerError("the server is shutting down; not starting it")
            return self._start(timeout_s, stream_log)

    def close(self) -> None:
        """Stop for good, whatever another thread is doing (a restart gives up and stops)."""
        self.closing.set()
        self.stop()

    def _start(self, timeout_s: float, stream_log: bool) -> "EmbeddedServer":
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
        self._regions_before = set(procinfo.shm_regions())
        self.process = spawn(command(cfg, backends), env=server_env(bundle, cfg.work_dir),
                             stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True)
        self.wait_ready(timeout_s)
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
            if self.closing.is_set():
                self.stop()
                raise ServerError("stopped while starting (shutdown requested)")
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
        + 10 s); then kill what is left of its process group, wait for it and unlink what it
        left in /dev/shm, so the next start finds a clean host."""
        grace_s = self.cfg.exit_timeout_s + 10 if grace_s is None else grace_s
        with self._lifecycle:
            proc, self.process = self.process, None
            if proc is None:
                return None
            if proc.poll() is None:
                self._terminate(proc, grace_s)
            self._clean_up_after(proc.pid, self._regions_before)
            if self._log is not None:
                self._log.close()
                self._log = None
            return proc.returncode

    @staticmethod
    def _terminate(proc: subprocess.Popen, grace_s: float) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            log.warning("tritonserver ignored SIGTERM for %.0f s; killing it", grace_s)
            proc.kill()
            proc.wait()

    @staticmethod
    def _clean_up_after(pgid: int, regions_before: set[str]) -> None:
        """The server runs in a session of its own, so its group id is its pid; stubs of a server
        that was killed would outlive it, and 2.51 leaves the region of a stub that died (killed,
        crashed) behind, which nothing else would ever remove."""
        kill_group(pgid)
        try:
            procinfo.wait_group_exited(pgid, timeout_s=10)
        except TimeoutError as e:
            log.warning("after tritonserver exited: %s", e)
            return
        for region in procinfo.orphan_regions(regions_before):
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
