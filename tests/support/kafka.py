"""Reading and writing raw Kafka records in tests (real broker)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker, KafkaRouter

from contracts.base import Event
from contracts.catalog import owner_of
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.topics import source_of
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox_log import LogMark
from ikmkit.service.settings import ServiceSettings


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently on ``topic`` (all partitions), without a consumer group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        # As the services' consumers: the embedded broker answers a fetch only at its max wait
        # (500 ms by default), records or not, so each round of reading cost half a second.
        fetch_max_wait_ms=5,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()  # topic created after start
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in partitions]
        if not assigned:
            return []
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return value.decode()
    return None


def owner_source(event: Event) -> str:
    """The ``ce_source`` consumers accept for ``event``: its topic's owning service."""
    return source_of(owner_of(event.TOPIC) or "unknown")


def envelope_headers(event: Event, *, event_id: str | None = None) -> list[tuple[str, bytes]]:
    """Valid CloudEvents headers for a standalone event (sequence 1 of its aggregate)."""
    payload = event_payload(event)
    attrs = EnvelopeAttributes(
        id=event_id or str(uuid.uuid4()),
        type=event.ce_type(),
        source=owner_source(event),
        time=datetime.now(UTC),
        subject=event.aggregate_id(),
        region=event.region(),
        sequence=1,
        hash="",
    )
    attrs = attrs.model_copy(update={"hash": chain_hash(GENESIS_HASH, attrs, payload)})
    return to_headers(attrs)


async def produce(
    bootstrap: str, topic: str, value: bytes, headers: list[tuple[str, bytes]], key: bytes
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def produce_event(bootstrap: str, event: Event, *, event_id: str | None = None) -> str:
    headers = envelope_headers(event, event_id=event_id)
    await produce(
        bootstrap,
        event.TOPIC,
        event_payload(event).encode(),
        headers,
        event.aggregate_id().encode(),
    )
    return next(v.decode() for k, v in headers if k == "ce_id")


@asynccontextmanager
async def consuming(
    bootstrap: str,
    consumer: EventConsumer,
    *,
    batch: bool = False,
    graceful_timeout: float | None = None,
) -> AsyncIterator[KafkaBroker]:
    """Run ``consumer`` as a real FastStream subscriber until the block exits."""
    broker = KafkaBroker(bootstrap, graceful_timeout=graceful_timeout)
    router = KafkaRouter()
    consumer.subscribe(router, batch=batch, session_timeout_ms=session_timeout_ms())
    broker.include_router(router)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def session_timeout_ms() -> int:
    """The group session a service's consumers get (KAFKA_SESSION_TIMEOUT_MS, as its lifespan
    passes it): the embedded broker holds each group join for half of it, and the code's
    default (10 s) made every consumer a test starts wait 5 s to join instead of 1."""
    return ServiceSettings().kafka_session_timeout_ms


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(0.1)


async def marked_records(bootstrap: str, topic: str, partitions: int = 3) -> list[LogMark]:
    """``topic`` created with ``partitions`` partitions, one record in each; the relay's marks
    of them (what ``KafkaLogProbe.check`` looks for)."""
    await ensure_topics(bootstrap, [topic], partitions=partitions)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    marks = []
    try:
        for partition in range(partitions):
            event_id = str(uuid.uuid4())
            sent = await producer.send_and_wait(
                topic, b"{}", partition=partition, headers=[("ce_id", event_id.encode())]
            )
            marks.append(LogMark(topic, partition, sent.offset, event_id))
    finally:
        await producer.stop()
    return marks
