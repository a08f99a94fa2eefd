"""What ``Client`` and ``AsyncClient`` share, so that each of them only does I/O: configuration,
the protocol modules, the model-info cache, routing (server-side or local preprocessing) and
the per-call keyword arguments of tritonclient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from mmtriton_client.errors import ClientError, DeadlineExceededError
from mmtriton_client.model_info import ModelInfo
from mmtriton_client.request import RequestBuilder

DEFAULT_URLS = {"grpc": "127.0.0.1:8001", "http": "127.0.0.1:8000"}


@dataclass(frozen=True)
class Embedding:
    fused: np.ndarray
    per_modality: dict


def protocol_module(protocol: str, aio: bool = False) -> Any:
    if protocol not in DEFAULT_URLS:
        raise ClientError(f"protocol must be 'grpc' or 'http', not {protocol!r}")
    if protocol == "grpc":
        import tritonclient.grpc as grpc
        import tritonclient.grpc.aio as grpc_aio

        return grpc_aio if aio else grpc
    import tritonclient.http as http
    import tritonclient.http.aio as http_aio

    return http_aio if aio else http


def config_dict(raw: Any) -> dict:
    """gRPC returns {'config': {...}} with as_json=True; HTTP returns the config itself."""
    return raw.get("config", raw) if isinstance(raw, dict) else raw


class ClientBase:
    """Settings and protocol-independent logic; subclasses implement the calls (sync or async)."""

    def __init__(self, url: Optional[str], *, protocol: str, model: str, timeout: float, retries: int,
                 headers: Optional[dict], preprocess: str, aio: bool) -> None:
        from mmtriton_client.retry import RetryPolicy

        if preprocess not in ("server", "client"):
            raise ClientError("preprocess must be 'server' or 'client'")
        self.protocol, self.model, self.timeout, self.headers = protocol, model, timeout, dict(headers or {})
        self.url = url or DEFAULT_URLS.get(protocol, "")
        self.module = protocol_module(protocol, aio)  # the client class (sync or asyncio)
        self.sync_module = protocol_module(protocol)  # InferInput classes (shared by both)
        self.policy = RetryPolicy(retries=retries)
        self.preprocess = preprocess
        self._info: Optional[ModelInfo] = None
        self._builder: Optional[RequestBuilder] = None
        self._local_pre: Any = None

    def _kw(self, remaining: float) -> dict:
        """gRPC takes a per-call deadline and returns protobufs unless asked for JSON."""
        return {"as_json": True, "client_timeout": remaining} if self.protocol == "grpc" else {}

    def _deadline_kw(self, remaining: float) -> dict:
        return {"client_timeout": remaining} if self.protocol == "grpc" else {}

    def _remember(self, raw_config: Any) -> ModelInfo:
        """Cache the ensemble's published names and limits (one config fetch per client)."""
        self._info = ModelInfo.from_config(config_dict(raw_config))
        self._builder = RequestBuilder(self._info)
        return self._info

    def _prepare(self, encoded: dict) -> tuple[dict, str, list]:
        """Payload checked against the published limits, target model and InferInputs (``encoded``
        comes from ``request.encode``, which validates locally before any network call; the model
        info must be loaded)."""
        data = self._builder.payload(encoded)
        if self.preprocess == "client":
            if self._local_pre is None:
                from mmtriton_client.local import LocalPreprocessor

                self._local_pre = LocalPreprocessor(self._info, self._info.preset)
            return data, self._local_pre.model, self._local_pre.inputs(self.sync_module, data)
        return data, self.model, self._builder.inputs(self.sync_module, data)

    def _not_ready(self, timeout: float) -> DeadlineExceededError:
        return DeadlineExceededError(f"{self.model} at {self.url} was not ready within {timeout:g} s")
