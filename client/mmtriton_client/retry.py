"""Retries with jittered exponential backoff under one overall deadline.

Only ServerUnavailableError is retried: an invalid input stays invalid, and a deadline that
passed cannot be met by trying again.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, NoReturn, Optional, TypeVar

from mmtriton_client.errors import ClientError, DeadlineExceededError, ServerUnavailableError, convert

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 2.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^attempt)]."""
        return random.uniform(0, min(self.max_backoff_s, self.backoff_s * (2 ** attempt)))


def _give_up(deadline_s: float, last: Optional[tuple[ClientError, BaseException]]) -> NoReturn:
    """Out of time: an unreachable server stays ServerUnavailableError, whatever the backoff left."""
    if last is not None:
        raise last[0] from last[1]
    raise DeadlineExceededError(f"no answer within the {deadline_s:g} s deadline")


def call_with_retry(fn: Callable[[float], T], policy: RetryPolicy, deadline_s: float) -> T:
    """``fn(remaining_seconds)``; converts errors and retries unavailable ones until the deadline."""
    end = time.monotonic() + deadline_s
    last = None
    for attempt in range(policy.retries + 1):
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        try:
            return fn(remaining)
        except Exception as e:  # noqa: BLE001 - converted to our tree right here
            error = convert(e)
            if not isinstance(error, ServerUnavailableError) or attempt == policy.retries:
                raise error from e
            last = (error, e)
            time.sleep(min(policy.delay(attempt), max(0.0, end - time.monotonic())))
    _give_up(deadline_s, last)


async def acall_with_retry(fn: Callable[[float], Awaitable[T]], policy: RetryPolicy, deadline_s: float) -> T:
    end = time.monotonic() + deadline_s
    last = None
    for attempt in range(policy.retries + 1):
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        try:
            return await asyncio.wait_for(fn(remaining), timeout=remaining)
        except asyncio.TimeoutError as e:
            raise DeadlineExceededError(f"no answer within the {deadline_s:g} s deadline") from e
        except Exception as e:  # noqa: BLE001
            error = convert(e)
            if not isinstance(error, ServerUnavailableError) or attempt == policy.retries:
                raise error from e
            last = (error, e)
            await asyncio.sleep(min(policy.delay(attempt), max(0.0, end - time.monotonic())))
    _give_up(deadline_s, last)
