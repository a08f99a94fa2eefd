"""A closed-loop asyncio load generator used for every cross-system comparison.

perf_analyzer speaks only Triton's protocols, so the FastAPI baseline and Triton are compared
with this one generator: same items in the same order, same concurrency, same warm-up and
measurement window. (Triton is also measured with perf_analyzer; the report shows both.)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable, Sequence

import numpy as np

from mmtriton.data.payloads import Item

Send = Callable[[Item], Awaitable[Any]]


@dataclass(frozen=True)
class LoadResult:
    system: str
    concurrency: int
    requests: int
    errors: int
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float

    def row(self) -> dict:
        return asdict(self)


async def closed_loop(system: str, send: Send, items: Sequence[Item], concurrency: int,
                      warmup_s: float, window_s: float) -> LoadResult:
    """``concurrency`` workers, each sending its next item as soon as its last answer came back.
    Only requests that start inside the window count; throughput = completed / window."""
    start = time.perf_counter()
    window = (start + warmup_s, start + warmup_s + window_s)
    latencies: list[float] = []
    errors, counter = 0, 0

    async def worker() -> None:
        nonlocal errors, counter
        while time.perf_counter() < window[1]:
            item = items[counter % len(items)]
            counter += 1
            t0 = time.perf_counter()
            try:
                await send(item)
                ok = True
            except Exception:  # any failure counts; the report shows the error total
                ok = False
            if window[0] <= t0 < window[1]:
                latencies.append((time.perf_counter() - t0) * 1000) if ok else None
                errors += 0 if ok else 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    lat = np.array(latencies or [float("nan")])
    pct = lambda q: round(float(np.percentile(lat, q)), 3)  # noqa: E731
    return LoadResult(system, concurrency, len(latencies), errors, round(len(latencies) / window_s, 2),
                      pct(50), pct(90), pct(99))


def fastapi_sender(session: Any, url: str) -> Send:
    """POST JSON with base64 files to the FastAPI baseline (aiohttp session)."""
    from mmtriton_bench.eager import request_body

    async def send(item: Item) -> Any:
        async with session.post(f"{url}/predict", json=request_body(item.image, item.audio, item.text)) as r:
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}: {await r.text()}")
            return await r.json()

    return send


def sdk_sender(client: Any) -> Send:
    """The project's async client SDK (mmtriton_client.AsyncClient) against the Triton ensemble."""
    async def send(item: Item) -> Any:
        return await client.predict(image=item.image, audio=item.audio, text=item.text)

    return send


async def sweep_fastapi(url: str, items: Sequence[Item], levels: Sequence[int], warmup_s: float,
                        window_s: float) -> list[LoadResult]:
    import aiohttp

    limits = aiohttp.TCPConnector(limit=max(levels) * 2)
    async with aiohttp.ClientSession(connector=limits) as session:
        send = fastapi_sender(session, url)
        return [await closed_loop("fastapi-eager", send, items, c, warmup_s, window_s) for c in levels]


async def sweep_triton_sdk(url: str, items: Sequence[Item], levels: Sequence[int], warmup_s: float,
                           window_s: float, protocol: str = "grpc") -> list[LoadResult]:
    from mmtriton_client import AsyncClient

    async with AsyncClient(url, protocol=protocol) as client:
        send = sdk_sender(client)
        return [await closed_loop(f"triton-sdk-{protocol}", send, items, c, warmup_s, window_s) for c in levels]
