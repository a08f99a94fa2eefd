"""``AsyncClient``: the same API as ``Client`` on asyncio (tritonclient gRPC aio / HTTP aio)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterable, Optional

from mmtriton_client.base import ClientBase, Embedding
from mmtriton_client.errors import ClientError, convert
from mmtriton_client.model_info import ModelInfo
from mmtriton_client.request import encode
from mmtriton_client.retry import acall_with_retry
from mmtriton_client.types import BatchItem, Prediction


class AsyncClient(ClientBase):
    """``async with AsyncClient("127.0.0.1:8001") as c: await c.predict(text="seven")``."""

    def __init__(self, url: Optional[str] = None, *, protocol: str = "grpc", model: str = "multimodal",
                 timeout: float = 30.0, retries: int = 3, headers: Optional[dict] = None,
                 preprocess: str = "server") -> None:
        super().__init__(url, protocol=protocol, model=model, timeout=timeout, retries=retries, headers=headers,
                         preprocess=preprocess, aio=True)
        self._client: Any = None  # created inside the event loop (HTTP aio needs a running loop)

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
        raise self._not_ready(timeout)

    async def metadata(self) -> dict:
        return await self._call(lambda r: self._triton.get_model_metadata(self.model, headers=self.headers, **self._kw(r)))

    async def info(self) -> ModelInfo:
        if self._info is None:
            self._remember(await self._call(lambda r: self._triton.get_model_config(self.model, headers=self.headers,
                                                                                     **self._kw(r))))
        return self._info

    async def predict(self, image: Any = None, audio: Any = None, text: Optional[str] = None, *,
                      timeout: Optional[float] = None, top_k: Optional[int] = None, **unknown: Any) -> Prediction:
        """As ``Client.predict``."""
        encoded = encode(image, audio, text, **unknown)  # local checks first: no server needed for them
        await self.info()
        data, model, inputs = self._prepare(encoded)
        outputs = self._builder.outputs(self.sync_module, top_k)

        def attempt(remaining: float) -> Any:
            return self._triton.infer(model, inputs, outputs=outputs, headers=self.headers,
                                      **self._deadline_kw(remaining))

        t0 = time.perf_counter()
        result = await self._call(attempt, timeout)
        return self._builder.parse(result, data, (time.perf_counter() - t0) * 1000, top_k)

    async def embed(self, image: Any = None, audio: Any = None, text: Optional[str] = None, **kw: Any) -> Embedding:
        p = await self.predict(image, audio, text, **kw)
        return Embedding(p.fused_embedding, dict(p.embeddings))

    async def predict_batch(self, items: Iterable[dict], *, max_in_flight: int = 8,
                            timeout: Optional[float] = None, top_k: Optional[int] = None) -> list[BatchItem]:
        gate = asyncio.Semaphore(max(1, max_in_flight))
        await self.info()
        self._builder.outputs(self.sync_module, top_k)  # a bad top_k fails once, not per item

        async def one(index: int, item: dict) -> BatchItem:
            async with gate:
                try:
                    return BatchItem(index, prediction=await self.predict(timeout=timeout, top_k=top_k, **item))
                except ClientError as e:
                    return BatchItem(index, error=e)
                except Exception as e:  # noqa: BLE001
                    return BatchItem(index, error=convert(e))

        return list(await asyncio.gather(*(one(i, item) for i, item in enumerate(items))))
