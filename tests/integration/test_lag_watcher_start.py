"""The consumer-lag watcher outlives a broker that is away when it starts.

It starts right after the consumers, and its Kafka clients bootstrap on their own: a broker
restarting in that moment (a rolling restart of the cluster) made its start fail, and the task
ended for the life of the process, silently: no ``ikm_consumer_lag`` from the replica and no
stall detection in /readyz (IkmConsumerStalled and IkmConsumerLagGrowing need the gauge).
Real embedded broker, started after the watcher.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from contracts.notify import DELIVERY_TOPIC
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.progress import ConsumerProgress, watch_consumers
from ikmkit.service.settings import ServiceSettings
from ikmkit.telemetry import metrics
from tests.support.kafka import produce_event
from tests.support.notify_dead import dead_notification


@pytest.fixture
def late_broker() -> Iterator[EmbeddedKafka]:
    broker = EmbeddedKafka()  # not started yet: the watcher comes first
    yield broker
    broker.stop()


async def test_the_lag_watcher_waits_for_a_broker_that_is_away_at_its_start(
    late_broker: EmbeddedKafka,
) -> None:
    group = f"late-{uuid.uuid4().hex[:8]}"
    consumer = SimpleNamespace(group=group, topics=[DELIVERY_TOPIC], subscriber=None)
    runtime = SimpleNamespace(
        name="latetest",
        settings=ServiceSettings(kafka_bootstrap_servers=late_broker.bootstrap_servers),
        # A watch every 10 s: the retry after the first failed start comes once the topic
        # below exists (a probe started earlier sees new topics only at its metadata refresh).
        progress=ConsumerProgress(stall_seconds=40),
        consumers=[consumer],
    )
    watcher = asyncio.create_task(watch_consumers(runtime))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(1)
        assert not watcher.done(), f"the watcher ended: {watcher.exception()!r}"

        late_broker.start()
        kafka = late_broker.bootstrap_servers
        await ensure_topics(kafka, [DELIVERY_TOPIC], partitions=1)
        await produce_event(kafka, dead_notification(str(uuid.uuid4())))
        gauge = metrics.CONSUMER_LAG.labels(group, DELIVERY_TOPIC, "0")
        deadline = time.monotonic() + 60
        while gauge._value.get() != 1:  # the group committed nothing: one message behind
            assert time.monotonic() < deadline, "lag never measured after the broker came"
            assert not watcher.done(), f"the watcher ended: {watcher.exception()!r}"
            await asyncio.sleep(0.2)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
