"""``AsyncClient``: the same API as ``Client`` on asyncio (tritonclient gRPC aio / HTTP aio)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterable, Optional

from mmtriton_client.errors import ClientError, DeadlineExceededError, convert
from mmtriton_client.model_info import ModelInfo
from mmtriton_client.request import RequestBuilder, encode
from mmtriton_client.retry import RetryPolicy, acall_with_retry
from mmtriton_client.sync import DEFAULT_URLS, Embedding, config_dict, protocol_module
from mmtriton_client.types import BatchItem, Prediction


class AsyncClient:
    """``async with AsyncClient("127.0.0.1:8001") as c: await c.predict(text="seven")``."""

    def __init__(self, url: Optional[str] = None, *, protocol: str = "grpc", model: str = "multimodal",
                 timeout: float = 30.0, retries: int = 3, headers: Optional[dict] = None,
                 preprocess: str = "server") -> None:
        self.protocol, self.model, self.timeout, self.headers = protocol, model, timeout, dict(headers or {})
        self.url = url or DEFAULT_URLS.get(protocol, "")
        self.module = protocol_module(protocol, aio=True)
        self.sync_module = protocol_module(protocol)  # InferInput classes are shared
        self.policy = RetryPolicy(retries=retries)
        self.preprocess = preprocess
        self._client: Any = None  # created inside the event loop (HTTP aio needs a running loop)
        self._info: Optional[ModelInfo] = None
        self._builder: Optional[RequestBuilder] = None
        self._local_pre: Any = None
        if preprocess not in ("server", "client"):
            raise ClientError("preprocess must be 'server' or 'client'")

    @property
    def _triton(self) -> Any:
        if self._client is None:
            self._client = self.module.InferenceServerClient(self.url)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _call(self, fn: Any, timeout: Optional[float] = None) -> Any:
        return await acall_with_retry(fn, self.policy, timeout or self.timeout)

    def _kw(self, remaining: float) -> dict:
        return {"as_json": True, "client_timeout": remaining} if self.protocol == "grpc" else {}

    async def is_ready(self) -> bool:
        async def check() -> bool:
            return bool(await self._triton.is_server_ready(headers=self.headers)) and \
                bool(await self._triton.is_model_ready(self.model, headers=self.headers))

        try:
            return await asyncio.wait_for(check(), timeout=min(self.timeout, 5.0))
        except Exception:  # noqa: BLE001 - "not ready" is the answer for any failure here
            return False

    async def wait_until_ready(self, timeout: float = 60.0, interval: float = 0.25) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if await self.is_ready():
                return
            await asyncio.sleep(interval)
        raise DeadlineExceededError(f"{self.model} at {self.url} was not ready within {timeout:g} s")

    async def metadata(self) -> dict:
        return await self._call(lambda r: self._triton.get_model_metadata(self.model, headers=self.headers, **self._kw(r)))

    async def info(self) -> ModelInfo:
        if self._info is None:
            raw = await self._call(lambda r: self._triton.get_model_config(self.model, headers=self.headers, **self._kw(r)))
            self._info = ModelInfo.from_config(config_dict(raw))
            self._builder = RequestBuilder(self._info)
        return self._info

    async def _route(self, data: dict) -> tuple[str, list]:
        info = await self.info()
        if self.preprocess == "client":
            if self._local_pre is None:
                from mmtriton_client.local import LocalPreprocessor

                self._local_pre = LocalPreprocessor(info, info.preset)
            return self._local_pre.model, self._local_pre.inputs(self.sync_module, data)
        return self.model, self._builder.inputs(self.sync_module, data)

    async def predict(self, image: Any = None, audio: Any = None, text: Optional[str] = None, *,
                      timeout: Optional[float] = None, **unknown: Any) -> Prediction:
        data = encode(image, audio, text, **unknown)
        await self.info()
        data = self._builder.payload(data)
        model, inputs = await self._route(data)
        grpc_kw = self.protocol == "grpc"

        def attempt(remaining: float) -> Any:
            kw = {"client_timeout": remaining} if grpc_kw else {}
            return self._triton.infer(model, inputs, headers=self.headers, **kw)

        t0 = time.perf_counter()
        result = await self._call(attempt, timeout)
        return self._builder.parse(result, data, (time.perf_counter() - t0) * 1000)

    async def embed(self, image: Any = None, audio: Any = None, text: Optional[str] = None, **kw: Any) -> Embedding:
        p = await self.predict(image, audio, text, **kw)
        return Embedding(p.fused_embedding, dict(p.embeddings))

    async def predict_batch(self, items: Iterable[dict], *, max_in_flight: int = 8,
                            timeout: Optional[float] = None) -> list[BatchItem]:
        gate = asyncio.Semaphore(max(1, max_in_flight))
        await self.info()

        async def one(index: int, item: dict) -> BatchItem:
            async with gate:
                try:
                    return BatchItem(index, prediction=await self.predict(timeout=timeout, **item))
                except ClientError as e:
                    return BatchItem(index, error=e)
                except Exception as e:  # noqa: BLE001
                    return BatchItem(index, error=convert(e))

        return list(await asyncio.gather(*(one(i, item) for i, item in enumerate(items))))
