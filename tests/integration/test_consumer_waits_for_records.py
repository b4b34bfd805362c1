"""A batch consumer waits for records on aiokafka's fetch, not on a timer of its own.

FastStream's batch subscriber asks aiokafka for records with ``batch_timeout_ms`` (5 ms here)
and, when none came, sleeps as long again before asking anew: an idle consumer ran its loop
~100 times a second, and a record fetched during the sleep waited it out before its handler
ran. Now each ask waits until records are fetched (aiokafka wakes it at once) or a long
while has passed, with no sleep in between. The subsidy service stands for every batch
consumer here (notify, training and insights subscribe alike, through ``EventConsumer``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition as subsidy
from services.subsidy.settings import SubsidySettings
from tests.support.service import running_service
from tests.support.subsidy_replica import registered_through_kafka
from tests.support.values import random_nib


def _counting_asks(aiokafka_consumer: Any) -> list[float]:
    """The times of every ``getmany`` the subscriber makes from now on."""
    asks: list[float] = []
    getmany = aiokafka_consumer.getmany

    async def counted(*partitions: Any, **options: Any) -> Any:
        asks.append(time.monotonic())
        return await getmany(*partitions, **options)

    aiokafka_consumer.getmany = counted
    return asks


async def test_an_idle_batch_consumer_does_not_poll_its_own_loop(
    kafka: str, tmp_path: Path
) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        await registered_through_kafka(kafka, s.runtime.store, [random_nib()], 30)
        (consumer,) = s.runtime.consumers
        asks = _counting_asks(consumer.subscriber.consumer)
        await asyncio.sleep(2.0)
        assert len(asks) <= 4, f"{len(asks)} asks for records in 2 s of nothing to read"
        # and a record that comes is still consumed, through the same waiting ask
        await registered_through_kafka(kafka, s.runtime.store, [random_nib()], 15)
        assert len(asks) <= 8
