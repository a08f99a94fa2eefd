"""`make serve`: the embedded Triton in the foreground under the supervisor, until Ctrl-C or
SIGTERM; then the supervisor stops first (so it cannot restart a server that is shutting down)."""

from __future__ import annotations

import logging
import signal
import threading

from mmtriton.errors import ServerError
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ADMIN_KEY_ENV, RESTRICTED_APIS, ServerConfig
from mmtriton.serving.supervisor import DeepProbe, Supervisor
from mmtriton.spec import ModelGraph

log = logging.getLogger(__name__)


def serve_foreground(cfg: ServerConfig, graph: ModelGraph, ready_timeout_s: float, probe_interval_s: float) -> None:
    """Start, supervise (``probe_interval_s`` 0: no supervision; the probe checks the outputs
    against ``graph``, the served model's), block until told to stop.

    SIGINT and SIGTERM only set events (a handler never takes the server's lock): the main
    thread then closes the server, which also makes a start or a restart in progress give up."""
    server, stop = EmbeddedServer(cfg), threading.Event()

    def on_signal(signum: int, _frame) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        server.closing.set()
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    supervisor = Supervisor(server, DeepProbe(graph, cfg.http_url), max(probe_interval_s, 0.5))
    try:
        server.start(ready_timeout_s, stream_log=True)
        log.info("ready: HTTP %s, gRPC %s, metrics %s:%d (development server; Ctrl-C stops it)",
                 cfg.http_url, cfg.grpc_url, cfg.host, cfg.metrics_port)
        log.info("restricted APIs (%s) need header `admin-key`: the key is $%s or the file %s",
                 ", ".join(RESTRICTED_APIS), ADMIN_KEY_ENV, cfg.work_dir / "admin-key")
        if probe_interval_s > 0:
            supervisor.start()
        stop.wait()
    except ServerError:
        if not stop.is_set():
            raise
    finally:
        server.closing.set()
        supervisor.stop()
        server.close()
