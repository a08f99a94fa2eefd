"""Keep the embedded server serving: a deep probe (a real inference with a deadline) and a restart.

Triton 2.51 does not restart a crashed Python-backend stub, and ``/v2/health/ready`` keeps
answering 200 while every request to that model instance fails ("Stub process ... is not
healthy"). With two instances the probe may well land on the healthy one, so every tick also
counts the stub processes: one gone, or the server gone, restarts at once. Otherwise the probe
(a real inference through the ensemble) decides: an unhealthy stub at once, any other failure
after ``failures`` probes in a row. Clients see UNAVAILABLE / connection refused meanwhile,
which the SDK retries.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Optional

from mmtriton.errors import ServerError
from mmtriton.serving import procinfo
from mmtriton.serving.process import EmbeddedServer
from mmtriton.spec.graph import ModelGraph

log = logging.getLogger(__name__)
Probe = Callable[[], Optional[str]]  # None: healthy; else the reason
FATAL = ("is not healthy", "Stub process", "connection refused", "Connection refused")


class DeepProbe:
    """One text-only request through the ensemble over HTTP (every composing model runs)."""

    def __init__(self, graph: ModelGraph, http_url: str, timeout_s: float = 10.0) -> None:
        text = graph.raw("text")
        body = {"inputs": [{"name": text.name, "shape": [1, 1], "datatype": text.dtype.triton_wire,
                            "data": ["supervisor probe: the digit 1"]}]}
        self.request = urllib.request.Request(f"http://{http_url}/v2/models/{graph.ensemble.name}/infer",
                                              data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        self.output = graph.probabilities.name
        self.timeout_s = timeout_s

    def __call__(self) -> Optional[str]:
        try:
            with urllib.request.urlopen(self.request, timeout=self.timeout_s) as r:
                outputs = {o["name"] for o in json.load(r).get("outputs", [])}
            return None if self.output in outputs else f"probe answer lacks {self.output}"
        except urllib.error.HTTPError as e:
            return f"HTTP {e.code}: {e.read().decode(errors='replace')[:300]}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            return f"{type(e).__name__}: {e}"


@dataclass
class Restart:
    at: float        # time.monotonic() when the failure was decided
    reason: str
    seconds: float   # until the server was ready again (-1: the restart failed)


@dataclass
class Supervisor:
    server: EmbeddedServer
    probe: Probe
    interval_s: float = 2.0
    failures: int = 2
    ready_timeout_s: float = 120.0
    restarts: list[Restart] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "Supervisor":
        self._thread = threading.Thread(target=self._run, name="mmtriton-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ends the loop; a restart in progress ends early once the server is closing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.ready_timeout_s + 30)

    def _run(self) -> None:
        bad, expected = 0, self._stub_count()
        while not self._stop.wait(self.interval_s):
            try:
                reason = self._process_problem(expected) or self.probe()
            except Exception as e:  # noqa: BLE001 - the supervisor itself must never die
                log.exception("supervisor check failed")
                reason = f"check failed: {e}"
            bad = bad + 1 if reason else 0
            if reason and (bad >= self.failures or any(k in reason for k in FATAL)):
                self.restart(reason)
                bad, expected = 0, self._stub_count()

    def _stub_count(self) -> int:
        proc = self.server.process
        return len(procinfo.stubs(proc.pid)) if proc is not None else 0

    def _process_problem(self, expected: int) -> Optional[str]:
        proc = self.server.process
        if proc is None or proc.poll() is not None:
            return "Stub process check: tritonserver is not running"
        alive = self._stub_count()
        return f"Stub process check: {expected - alive} of {expected} stubs gone" if alive < expected else None

    def restart(self, reason: str) -> Restart:
        """Stop and start the server on the same ports; recorded in ``restarts``."""
        if self.server.closing.is_set():
            return Restart(time.monotonic(), reason, -1.0)
        log.warning("deep probe failed (%s); restarting tritonserver", reason[:200])
        t0 = time.monotonic()
        try:
            # A wedged 2.51 server does not finish a SIGTERM; past its exit timeout it is killed.
            self.server.stop(grace_s=self.server.cfg.exit_timeout_s + 3)
            self.server.start(self.ready_timeout_s, stream_log=self.server.stream_log)
            event = Restart(t0, reason, time.monotonic() - t0)
            log.warning("tritonserver restarted in %.1f s", event.seconds)
        except ServerError as e:
            log.error("restart failed: %s", e)
            event = Restart(t0, reason, -1.0)
        self.restarts.append(event)
        return event

    def __enter__(self) -> "Supervisor":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
