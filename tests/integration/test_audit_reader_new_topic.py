"""The audit's reader takes topics and their partitions from one metadata snapshot. It listed
topics from fresh metadata (aiokafka's ``topics()``) but took their partitions from the
client's copy made when it started: a topic created in between was named among the topics read
and had none of its records read, so an audit reported it verified with nothing checked.
The topic is created right after the client's bootstrap here, the window a live system leaves
open by chance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ikmkit.audit.reader import LogReader
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics


async def test_a_topic_created_as_the_reader_starts_is_read_whole(
    kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"ikm.test.auditnew.{uuid.uuid4().hex[:8]}.v1"
    start = AIOKafkaConsumer.start

    async def start_then_create(consumer: AIOKafkaConsumer) -> None:
        await start(consumer)
        await ensure_topics(kafka, [topic], partitions=3)
        producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
        await producer.start()
        try:
            for n in range(6):
                await producer.send_and_wait(topic, f"m{n}".encode(), partition=n % 3)
        finally:
            await producer.stop()

    monkeypatch.setattr(AIOKafkaConsumer, "start", start_then_create)
    reader = LogReader(kafka, [topic])
    try:
        await reader.open()
        read: list[Any] = [record async for batch in reader.batches() for record in batch]
    finally:
        await reader.close()
        await delete_topics(kafka, [topic])
    assert reader.topics == [topic]
    assert reader.total == 6
    assert sorted(r.value for r in read) == [f"m{n}".encode() for n in range(6)]
