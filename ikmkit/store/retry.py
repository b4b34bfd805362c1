"""Retrying a whole unit of work that lost an optimistic-concurrency race."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from ikmkit.store.port import RETRYABLE


async def retry_on_conflict[T](
    attempt: Callable[[], Awaitable[T]],
    *,
    retry_on: tuple[type[Exception], ...] = RETRYABLE,
    max_attempts: int = 50,
    base_delay: float = 0.002,
    max_delay: float = 0.2,
) -> T:
    """Run ``attempt`` (which opens its own unit of work) until it commits.

    Jittered exponential backoff breaks the symmetry of transactions that keep
    aborting each other (some engines abort both sides of a write conflict).
    """
    for number in range(1, max_attempts + 1):
        try:
            return await attempt()
        except retry_on:
            if number == max_attempts:
                raise
            ceiling = min(max_delay, base_delay * 2**number)
            await asyncio.sleep(random.uniform(0, ceiling))
    raise AssertionError("unreachable")
