"""The relay's batches leave at once: a complete record batch does not wait out linger_ms."""

from __future__ import annotations

import time

from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OutgoingMessage

TOPIC = "ikm.test.publisher-latency.v1"


async def test_a_published_batch_does_not_linger(kafka: str) -> None:
    await ensure_topics(kafka, [TOPIC], partitions=1)
    publisher = KafkaPublisher(kafka)
    # As if configured with a long linger: only an open batch would wait it out.
    publisher._producer._message_accumulator._linger_time = 2.0
    await publisher.start()
    try:
        message = OutgoingMessage(TOPIC, b"k", b"v", [])
        assert (await publisher.publish_batch([message]))[0].ok  # connected, metadata known
        started = time.monotonic()
        results = await publisher.publish_batch([message, message])
        elapsed = time.monotonic() - started
    finally:
        await publisher.stop()
    assert all(r.ok for r in results)
    assert elapsed < 1.0, f"the batch waited {elapsed:.2f}s"
