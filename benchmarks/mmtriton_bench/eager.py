"""Baseline: what a user would build instead of Triton. A FastAPI service (uvicorn) running the
same trained checkpoint in PyTorch eager mode with the same preprocessing, one request per call.

It is given its best plain setup on these cores: one uvicorn worker process per core, one torch
thread per worker. Requests are JSON with base64 files, the usual shape of such a service.
"""

# No `from __future__ import annotations` here: FastAPI must see the request model class itself
# (a string annotation naming a class local to create_app cannot be resolved).
import base64
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from mmtriton.errors import BenchError

log = logging.getLogger(__name__)
CHECKPOINT_ENV = "MMTRITON_EAGER_CHECKPOINT"


def create_app() -> Any:
    """uvicorn factory: loads the checkpoint named by $MMTRITON_EAGER_CHECKPOINT."""
    import torch
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel

    from mmtriton.errors import InvalidInputError
    from mmtriton.preprocess import Preprocessor
    from mmtriton.models.runners import eager_probabilities, torch_runners
    from mmtriton.training.checkpoint import load_model

    torch.set_num_threads(int(os.environ.get("MMTRITON_EAGER_THREADS", "1")))
    _force_nodelay()
    model, graph, _ = load_model(Path(os.environ[CHECKPOINT_ENV]))
    pre, runners = Preprocessor(graph), torch_runners(model, graph)
    app = FastAPI(title="mmtriton eager baseline")

    class Request(BaseModel):
        image: Optional[str] = None
        audio: Optional[str] = None
        text: Optional[str] = None

    @app.get("/health")
    def health() -> dict:
        return {"ok": True, "pid": os.getpid()}

    @app.post("/predict")
    def predict(req: Request) -> dict:
        t0 = time.perf_counter()
        try:
            with torch.no_grad():
                probs = eager_probabilities(model, pre, _b64(req.image), _b64(req.audio), req.text, runners)
        except InvalidInputError as e:
            raise HTTPException(400, str(e)) from e
        return {"label": graph.class_names[int(probs.argmax())], "probabilities": probs.tolist(),
                "compute_ms": (time.perf_counter() - t0) * 1000}

    return app


def _force_nodelay() -> None:
    """uvicorn's multi-worker mode hands each worker a socket rebuilt from a file descriptor with
    proto 0, so asyncio skips TCP_NODELAY and every response (headers and body are two writes)
    waits ~40 ms for the client's delayed ACK (measured: 77 ms vs 32 ms compute at c=1). Setting
    it keeps the baseline from being penalised by that."""
    import asyncio.base_events as base_events
    import socket

    def nodelay(sock: socket.socket) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    base_events._set_nodelay = nodelay


def _b64(value: Optional[str]) -> Optional[bytes]:
    return base64.b64decode(value) if value is not None else None


def request_body(image: Optional[bytes], audio: Optional[bytes], text: Optional[str]) -> dict:
    enc = lambda b: base64.b64encode(b).decode("ascii") if b is not None else None  # noqa: E731
    return {"image": enc(image), "audio": enc(audio), "text": text}


class EagerServer:
    """``with EagerServer(checkpoint, port) as url:`` runs uvicorn in a child process."""

    def __init__(self, checkpoint: Path, port: int, workers: int = 0, host: str = "127.0.0.1") -> None:
        self.checkpoint, self.port, self.host = checkpoint, port, host
        self.workers = workers or os.cpu_count() or 1
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        env = {**os.environ, CHECKPOINT_ENV: str(self.checkpoint.resolve()), "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "uvicorn", "mmtriton_bench.eager:create_app", "--factory", "--host", self.host,
               "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready(120.0)
        return self.url

    def _wait_ready(self, timeout_s: float) -> None:
        """Until every worker has answered (a worker still loading the model would steal CPU)."""
        deadline, seen = time.monotonic() + timeout_s, set()
        while time.monotonic() < deadline and len(seen) < self.workers:
            if self.proc.poll() is not None:
                raise BenchError(f"the FastAPI baseline exited: {self.proc.stderr.read().decode()[-800:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:  # new connection each time
                    seen.add(json.load(r)["pid"])
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
            time.sleep(0.05)
        if len(seen) < self.workers:
            raise BenchError(f"the FastAPI baseline had {len(seen)}/{self.workers} workers ready after {timeout_s:.0f} s")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
