"""A consumer keeps no processed records: memory that does not grow with the events it has
consumed (issue #14, Scale).

FastStream's message outlives its handler: it sits in a context variable, and the timers
started in that context (aiokafka's 40 s request timeout around the offset commit) keep
copies of the context until their deadline, cancelled or not. Before the consumer let go of
a processed message's records, every batch of the last 40 s stayed in memory."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaRouter

from contracts.registry import EnterpriseRegistered
from ikmkit.messaging.cloudevents import event_payload
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.store import CollectionSpec, Store
from tests.support.consumer_effects import EFFECTS, record_effect, registered
from tests.support.kafka import envelope_headers, eventually, session_timeout_ms
from tests.support.units import plain_units

EVENTS = 400
MAX_RECORDS = 50


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([CollectionSpec(EFFECTS), *INBOX_COLLECTIONS])
    yield fresh_store


async def publish_registrations(kafka: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    try:
        for i in range(count):
            event = registered(f"{7_000_000_000_000 + i}")
            await producer.send(
                topic,
                event_payload(event).encode(),
                key=event.aggregate_id().encode(),
                headers=envelope_headers(event),
            )
        await producer.flush()
    finally:
        await producer.stop()


def live_records(topic: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, ConsumerRecord) and o.topic == topic)


async def processed(store: Store, count: int) -> bool:
    async with store.transaction(read_only=True) as tx:
        return await tx.count(INBOX) >= count


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("batch", [False, True], ids=["per-message", "batch"])
async def test_processed_records_are_not_kept_after_their_commit(
    store: Store, publisher: KafkaPublisher, kafka: str, batch: bool
) -> None:
    topic = f"ikm.test.memory.{uuid.uuid4().hex[:8]}.v1"
    await ensure_topics(kafka, [topic], partitions=1)
    consumer = EventConsumer(
        group=f"test-{uuid.uuid4().hex[:8]}", units=plain_units(store), dead_letters=publisher
    )
    consumer.handles(EnterpriseRegistered)(record_effect)
    consumer.extra_topics = {topic}
    broker = KafkaBroker(kafka)
    router = KafkaRouter()
    consumer.subscribe(
        router, batch=batch, max_records=MAX_RECORDS, session_timeout_ms=session_timeout_ms()
    )
    broker.include_router(router)
    try:
        await publish_registrations(kafka, topic, EVENTS)
        await broker.start()
        try:
            await eventually(lambda: processed(store, EVENTS), timeout=60)
            # every record has its effect and its offset commit (well within the commit
            # requests' 40 s timeout): none of them is needed any more
            await eventually(consumer_committed(broker), timeout=30)
            kept = live_records(topic)
        finally:
            await broker.stop()
    finally:
        await delete_topics(kafka, [topic])
    assert kept <= (MAX_RECORDS if batch else 1), f"{kept} of {EVENTS} records still in memory"


def consumer_committed(broker: KafkaBroker) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        for subscriber in broker.subscribers:
            client = getattr(subscriber, "consumer", None)
            if client is None:
                return False
            for tp in client.assignment():
                if await client.committed(tp) != await client.position(tp):
                    return False
        return True

    return check
