"""A consumer never stalls on one message: oversized records still reach the DLQ (real broker).

A record just under the producer's request limit (1 MiB) has a dead-letter copy
over it (the ``dlq_*`` headers are added). The full copy is refused, so a
truncated dead letter is published instead and the partition moves on.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest

from contracts.registry import EnterpriseRegistered
from contracts.topics import dead_letter_topic
from ikmkit.messaging.cloudevents import event_payload
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.deadletter import PAYLOAD_PREFIX
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.store import CollectionSpec, Store
from tests.support.consumer_effects import (
    EFFECTS,
    OVERSIZED,
    effects_for,
    record_effect,
    registered,
)
from tests.support.kafka import (
    consuming,
    envelope_headers,
    eventually,
    header,
    produce,
    read_topic,
)
from tests.support.units import plain_units


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([CollectionSpec(EFFECTS), *INBOX_COLLECTIONS])
    yield fresh_store


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("batch", [False, True], ids=["per-message", "batch"])
async def test_an_oversized_record_is_dead_lettered_truncated_and_the_partition_moves_on(
    store: Store, publisher: KafkaPublisher, kafka: str, batch: bool
) -> None:
    # A topic of its own, one partition: the record after the big one is behind it for sure,
    # and other tests' consumers of the real topics never see the megabyte.
    topic = f"ikm.test.oversized.{uuid.uuid4().hex[:8]}.v1"
    name = f"test-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic], partitions=1)
    nib = str(uuid.uuid4().int)[:13]
    after = registered(nib)
    headers = envelope_headers(after)
    big = b'{"nib": "' + b"9" * (OVERSIZED - 10) + b'"'  # not even JSON: malformed_json
    assert len(big) == OVERSIZED
    await produce(kafka, topic, big, headers, nib.encode())
    await produce(
        kafka, topic, event_payload(after).encode(), envelope_headers(after), nib.encode()
    )

    consumer = EventConsumer(group=name, units=plain_units(store), dead_letters=publisher)
    consumer.handles(EnterpriseRegistered)(record_effect)
    consumer.extra_topics = {topic}
    try:
        async with consuming(kafka, consumer, batch=batch):
            await eventually(lambda: effects_for(store, nib), timeout=30)
        parked = await read_topic(kafka, dead_letter_topic(topic, name))
    finally:
        await delete_topics(kafka, [topic, dead_letter_topic(topic, name)])
    assert len(parked) >= 1
    letter = parked[0]
    assert header(letter, "dlq_reason") == "malformed_json"
    assert header(letter, "dlq_truncated") == "true"
    assert "MessageSizeTooLarge" in (header(letter, "dlq_truncated_because") or "")
    assert header(letter, "dlq_original_size") == str(OVERSIZED)
    assert header(letter, "dlq_original_sha256") == hashlib.sha256(big).hexdigest()
    assert header(letter, "dlq_original_topic") == topic
    assert header(letter, "dlq_original_offset") == "0"
    assert header(letter, "ce_id") == header_value(headers, "ce_id")  # headers kept
    assert letter.value == big[:PAYLOAD_PREFIX]
    assert len(await effects_for(store, nib)) == 1


def header_value(headers: list[tuple[str, bytes]], name: str) -> str:
    return next(v.decode() for k, v in headers if k == name)
