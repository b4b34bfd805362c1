"""The lag probe sees topics created after it started at its next measurement. It read the
partition layout from its client's cached metadata, which aiokafka refreshes every 5 minutes
(its ``topics()`` call fetched fresh metadata into a copy it threw away): a topic created
meanwhile (or partitions an operator added to a topic) had no lag gauge and no stall
detection for up to 5 minutes."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer

from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.messaging.progress import ConsumerLagProbe


async def test_a_topic_created_after_the_probe_started_is_measured_at_once(kafka: str) -> None:
    group = f"lag-{uuid.uuid4().hex[:8]}"
    old = f"ikm.test.lagold.{uuid.uuid4().hex[:8]}.v1"
    new = f"ikm.test.lagnew.{uuid.uuid4().hex[:8]}.v1"
    await ensure_topics(kafka, [old], partitions=1)
    probe = ConsumerLagProbe(kafka)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await probe.start()
    await producer.start()
    try:
        assert await probe.measure(group, [old, new]) == {(old, 0): 0}
        await ensure_topics(kafka, [new], partitions=3)
        for n in range(6):
            await producer.send_and_wait(new, f"m{n}".encode(), partition=n % 3)
        lag = await probe.measure(group, [old, new])
        assert lag == {(old, 0): 0, (new, 0): 2, (new, 1): 2, (new, 2): 2}
    finally:
        await producer.stop()
        await probe.stop()
        await delete_topics(kafka, [old, new])
