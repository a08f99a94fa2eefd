"""One tested base class for every Python-backend model of the repository.

``initialize`` builds the heavy objects once; ``execute`` reads every request (per-request
errors become that request's error response), runs the vectorised work once for the whole
batch and splits the outputs back. An unexpected exception fails the batch with a generic
message and a log line; internal details never reach the client.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mmtriton.errors import InvalidInputError
from mmtriton.spec.graph import get_graph
from mmtriton.spec.serving import CLASSES_PARAMETER

log = logging.getLogger(__name__)
Arrays = dict[str, np.ndarray]


def pb_utils():
    """The Python backend's utility module; only importable inside a Triton stub."""
    import triton_python_backend_utils

    return triton_python_backend_utils


class TritonLogHandler(logging.Handler):
    """Route ``logging`` records to Triton's log, so they show up next to the server's own."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = pb_utils().Logger
        msg = self.format(record)
        if record.levelno >= logging.ERROR:
            logger.log_error(msg)
        elif record.levelno >= logging.WARNING:
            logger.log_warn(msg)
        else:
            logger.log_info(msg)


class BaseModel:
    """Subclasses implement ``setup``, ``read`` (one request -> arrays) and ``compute`` (all requests)."""

    def initialize(self, args: dict[str, Any]) -> None:
        logging.getLogger("mmtriton").addHandler(TritonLogHandler())
        logging.getLogger("mmtriton").setLevel(logging.INFO)
        self.config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in self.config.get("parameters", {}).items()}
        self.params = params
        names = params.get(CLASSES_PARAMETER)
        self.graph = get_graph(params.get("preset", "demo"), tuple(names.split(",")) if names else None)
        self.spec = self.graph.model(args["model_name"])
        self.version_dir = Path(args["model_repository"]) / str(args["model_version"])
        self.setup()

    def setup(self) -> None:
        """Build heavy objects (sessions, tokenizer, mel bank)."""

    def read(self, request: Any) -> Arrays:
        """Decode one request into arrays with a leading batch axis; raise InvalidInputError if bad."""
        raise NotImplementedError

    def compute(self, items: list[Arrays]) -> list[Arrays]:
        """All valid requests at once -> output arrays per request."""
        return items

    def input_array(self, request: Any, name: str) -> Optional[np.ndarray]:
        tensor = pb_utils().get_input_tensor_by_name(request, name)
        return None if tensor is None else tensor.as_numpy()

    # Preprocessing models set this False: an error from a step whose siblings still run wedges
    # the 2.51 ensemble, so they answer cancelled requests with placeholders instead.
    reject_cancelled = True

    def execute(self, requests: list[Any]) -> list[Any]:
        pb = pb_utils()
        responses: list[Any] = [None] * len(requests)
        items: list[tuple[int, Arrays]] = []
        for i, request in enumerate(requests):
            if self.reject_cancelled and request.is_cancelled():
                responses[i] = pb.InferenceResponse(error=pb.TritonError("request cancelled", pb.TritonError.CANCELLED))
                continue
            try:
                items.append((i, self.read(request)))
            except InvalidInputError as e:
                responses[i] = pb.InferenceResponse(error=pb.TritonError(str(e), pb.TritonError.INVALID_ARG))
        if items:
            for (i, _), out in zip(items, self._compute_safely([x for _, x in items])):
                responses[i] = out
        return responses

    def _compute_safely(self, items: list[Arrays]) -> list[Any]:
        pb = pb_utils()
        try:
            results = self.compute(items)
        except Exception:  # noqa: BLE001 - the boundary: log it, answer every request, stay up
            log.exception("%s: batch of %d requests failed", self.spec.name, len(items))
            err = pb.TritonError(f"{self.spec.name}: internal error (see server log)", pb.TritonError.INTERNAL)
            return [pb.InferenceResponse(error=err) for _ in items]
        names = self.spec.output_names
        return [pb.InferenceResponse(output_tensors=[pb.Tensor(n, np.ascontiguousarray(r[n])) for n in names])
                for r in results]
