"""CloudEvents conformance through the real embedded broker.

- Records the platform writes, published by its Kafka publisher and read back, decode with
  the CloudEvents SDK's Kafka binding, and their chains verify.
- A record of another CloudEvents version is dead-lettered with a precise reason; the
  partition moves on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

from contracts import envelope as ce
from contracts.registry import EnterpriseVerified
from contracts.topics import dead_letter_topic
from ikmkit.audit.chain import ChainVerifier
from ikmkit.messaging.cloudevents import event_payload
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.messaging.outbox import OutgoingMessage
from ikmkit.store import CollectionSpec, Store
from ikmkit.unit_of_work import UnitOfWork
from tests.support.event_samples import every_event, platform_records, sample
from tests.support.kafka import consuming, envelope_headers, eventually, header, produce, read_topic
from tests.support.units import plain_units

EFFECTS = "effects"


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([CollectionSpec(EFFECTS), *INBOX_COLLECTIONS])
    yield fresh_store


async def test_events_read_back_from_the_broker_decode_with_the_sdk_and_verify(
    publisher: KafkaPublisher, kafka: str
) -> None:
    topic = f"ikm.test.cloudevents.{uuid.uuid4().hex[:8]}.v1"
    await ensure_topics(kafka, [topic], partitions=1)
    # One contract topic's events (one topic on the log): a chain across event types.
    chosen = [e for e in every_event() if e.TOPIC == EnterpriseVerified.TOPIC]
    written = await platform_records(chosen, repeat=2)
    assert len(chosen) >= 5
    messages = [
        OutgoingMessage(
            topic=topic,
            key=str(r["key"]).encode(),
            value=str(r["value"]).encode(),
            headers=[(k, v.encode()) for k, v in r["headers"]],  # type: ignore[union-attr]
        )
        for r in written
    ]
    try:
        assert all(result.ok for result in await publisher.publish_batch(messages))
        logged = await read_topic(kafka, topic)
    finally:
        await delete_topics(kafka, [topic])
    assert len(logged) == len(written)
    verifier = ChainVerifier()
    for record in logged:
        headers = dict(record.headers)
        message = ce_kafka.KafkaMessage(headers=headers, key=record.key, value=record.value)
        event = ce_kafka.from_binary(message, JSONFormat())
        assert event.get_id() == headers[ce.H_ID].decode()
        assert event.get_data() == json.loads(record.value)
        assert event.get_dataschema() == headers[ce.H_DATASCHEMA].decode()
        verifier.check(record)
    assert verifier.finish() == []
    assert verifier.events_checked == len(written)


async def record_effect(event: EnterpriseVerified, meta: object, uow: UnitOfWork) -> None:
    await uow.tx.insert(EFFECTS, {"id": uuid.uuid4().hex, "nib": event.nib})


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_a_record_of_another_cloudevents_version_is_dead_lettered_with_its_reason(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    topic = f"ikm.test.specversion.{uuid.uuid4().hex[:8]}.v1"
    group = f"test-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic], partitions=1)
    nib = str(uuid.uuid4().int)[:13]
    event = sample(EnterpriseVerified).model_copy(update={"nib": nib})
    assert isinstance(event, EnterpriseVerified)
    payload = event_payload(event).encode()
    old = [(k, b"0.3" if k == ce.H_SPECVERSION else v) for k, v in envelope_headers(event)]
    await produce(kafka, topic, payload, old, nib.encode())
    await produce(kafka, topic, payload, envelope_headers(event), nib.encode())
    consumer = EventConsumer(group=group, units=plain_units(store), dead_letters=publisher)
    consumer.handles(EnterpriseVerified)(record_effect)
    consumer.extra_topics = {topic}
    try:
        async with consuming(kafka, consumer):
            await eventually(lambda: _effects(store, nib), timeout=30)
        parked = await read_topic(kafka, dead_letter_topic(topic, group))
    finally:
        await delete_topics(kafka, [topic, dead_letter_topic(topic, group)])
    assert len(parked) == 1
    assert header(parked[0], "dlq_reason") == "unsupported_specversion"
    assert "ce_specversion '0.3' is not '1.0'" in (header(parked[0], "dlq_error") or "")


async def _effects(store: Store, nib: str) -> list[dict[str, object]]:
    async with store.transaction() as uow:
        return (await uow.find(EFFECTS, {"nib": nib}, limit=10)).items
