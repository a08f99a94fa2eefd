"""`make serve`: the embedded Triton in the foreground under the supervisor, until Ctrl-C or
SIGTERM; then the supervisor stops first (so it cannot restart a server that is shutting down)."""

from __future__ import annotations

import logging
import signal
import threading

from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ADMIN_KEY_ENV, RESTRICTED_APIS, ServerConfig
from mmtriton.serving.supervisor import DeepProbe, Supervisor
from mmtriton.spec import get_graph

log = logging.getLogger(__name__)


def serve_foreground(cfg: ServerConfig, preset: str, ready_timeout_s: float, probe_interval_s: float) -> None:
    """Start, supervise (``probe_interval_s`` 0: no supervision), block until told to stop."""
    server, stop = EmbeddedServer(cfg), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    supervisor = Supervisor(server, DeepProbe(get_graph(preset), cfg.http_url), max(probe_interval_s, 0.5))
    try:
        server.start(ready_timeout_s, stream_log=True)
        log.info("ready: HTTP %s, gRPC %s, metrics %s:%d (development server; Ctrl-C stops it)",
                 cfg.http_url, cfg.grpc_url, cfg.host, cfg.metrics_port)
        log.info("restricted APIs (%s) need header `admin-key`: the key is $%s or the file %s",
                 ", ".join(RESTRICTED_APIS), ADMIN_KEY_ENV, cfg.work_dir / "admin-key")
        if probe_interval_s > 0:
            supervisor.start()
        stop.wait()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        supervisor.stop()
        server.stop()
