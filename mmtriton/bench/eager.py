"""Baseline: what a user would build instead of Triton. A FastAPI service (uvicorn) running the
same trained checkpoint in PyTorch eager mode with the same preprocessing, one request per call.

It is given its best plain setup on these cores: one uvicorn worker process per core, one torch
thread per worker. Requests are JSON with base64 files, the usual shape of such a service.
"""

from __future__ import annotations

import base64
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
    from mmtriton.serving.check import eager_probabilities
    from mmtriton.training.checkpoint import load_model

    torch.set_num_threads(int(os.environ.get("MMTRITON_EAGER_THREADS", "1")))
    model, graph, _ = load_model(Path(os.environ[CHECKPOINT_ENV]))
    pre = Preprocessor(graph)
    app = FastAPI(title="mmtriton eager baseline")

    class Request(BaseModel):
        image: Optional[str] = None
        audio: Optional[str] = None
        text: Optional[str] = None

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    @app.post("/predict")
    def predict(req: Request) -> dict:
        try:
            with torch.no_grad():
                probs = eager_probabilities(model, pre, _b64(req.image), _b64(req.audio), req.text)
        except InvalidInputError as e:
            raise HTTPException(400, str(e)) from e
        return {"label": graph.class_names[int(probs.argmax())], "probabilities": probs.tolist()}

    return app


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
        cmd = [sys.executable, "-m", "uvicorn", "mmtriton.bench.eager:create_app", "--factory", "--host", self.host,
               "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready(120.0)
        return self.url

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the FastAPI baseline exited: {self.proc.stderr.read().decode()[-800:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    time.sleep(2.0 * self.workers)  # other workers finish loading the model
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise BenchError(f"the FastAPI baseline was not ready after {timeout_s:.0f} s")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
