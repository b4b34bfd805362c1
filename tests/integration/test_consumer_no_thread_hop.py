"""A consumed batch reaches the handler on the event loop, with no worker thread on its way.

FastStream gave the handler its ``message`` parameter through FastDepends, whose context
lookup (``Context.use``) is a plain function, so FastDepends ran it on anyio's worker threads:
one thread round trip per batch before any of our code ran. In notify at 100 events/s that
hop was ~4 ms at the median and ~13 ms at p99 of the ~17 ms between a record's timestamp and
the consumer's first line (docs/performance.md, Latency, "Session 27"), and with the worker
threads busy elsewhere no event was consumed at all. The subsidy service stands for every
consumer here: they all subscribe through ``EventConsumer.subscribe``."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.to_thread

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition as subsidy
from services.subsidy.settings import SubsidySettings
from tests.support.service import running_service
from tests.support.subsidy_replica import registered_through_kafka
from tests.support.values import random_nib


@asynccontextmanager
async def worker_threads_busy() -> AsyncIterator[None]:
    """anyio's worker threads for this loop all taken (one token, held by a blocked call)."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens, release = limiter.total_tokens, threading.Event()
    limiter.total_tokens = 1
    async with anyio.create_task_group() as holders:
        holders.start_soon(anyio.to_thread.run_sync, release.wait)
        await anyio.sleep(0.05)
        assert limiter.borrowed_tokens == 1
        try:
            yield
        finally:
            release.set()
    limiter.total_tokens = tokens


async def test_events_are_consumed_while_the_worker_threads_are_busy(
    kafka: str, tmp_path: Path
) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        # the consumer's group joined and the path works
        await registered_through_kafka(kafka, s.runtime.store, [random_nib() for _ in range(3)], 30)
        async with worker_threads_busy():
            await registered_through_kafka(kafka, s.runtime.store, [random_nib()], 15)
