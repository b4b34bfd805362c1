"""The relay notices a lost log and restores it from the outbox (real broker, real stores).

Each test publishes on a topic of its own, so deleting or refilling it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from ikmdev.infra import EmbeddedKafka, free_port
from ikmkit.messaging.kafka import KafkaLogProbe, KafkaPublisher
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox, outbox_backlog
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store import Store
from tests.support.kafka import eventually, header, produce, read_topic
from tests.support.relay import probe_event, unique_topic


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(OUTBOX_COLLECTIONS)
    yield fresh_store


async def add_events(store: Store, topic: str, streams: int, per_stream: int) -> list[str]:
    """``streams`` aggregates with ``per_stream`` events each; returns the event ids."""
    event = probe_event(topic)
    outbox = Outbox("/tests")
    ids: list[str] = []
    keys = [uuid.uuid4().hex[:12] for _ in range(streams)]
    for n in range(per_stream):
        async with store.transaction() as uow:
            stamped = await outbox.add_many(uow, [event(key=k, note=f"v{n}") for k in keys])
        ids += [s.id for s in stamped]
    return ids


async def drain(relay: OutboxRelay, store: Store) -> None:
    while (await outbox_backlog(store)).pending:
        await relay.publish_pending()


async def ids_on(kafka: str, topic: str) -> list[str]:
    return [str(header(r, "ce_id")) for r in await read_topic(kafka, topic)]


def assert_in_order_per_stream(records: list[object]) -> None:
    """Each aggregate's copies sit on one partition, in sequence order from 1 (no gaps)."""
    by_key: dict[bytes, list[object]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(record)  # type: ignore[attr-defined]
    for mine in by_key.values():
        assert len({r.partition for r in mine}) == 1  # type: ignore[attr-defined]
        sequences = [int(str(header(r, "ce_sequence"))) for r in mine]  # type: ignore[arg-type]
        # A republished stream starts over from 1; every run is ordered and gap-free.
        runs: list[list[int]] = []
        for s in sequences:
            if s == 1 or not runs:
                runs.append([])
            runs[-1].append(s)
        for run in runs:
            assert run == list(range(1, len(run) + 1)), sequences


async def test_a_deleted_topic_is_recreated_and_republished_from_the_outbox(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    topic = unique_topic()
    await ensure_topics(kafka, [topic], partitions=3)
    ids = await add_events(store, topic, streams=8, per_stream=4)
    probe = KafkaLogProbe(kafka, partitions=3)
    relay = OutboxRelay(
        store, publisher, log_probe=probe, topics=[topic], verify_interval=0.3, poll_interval=0.05
    )
    relay.start()
    try:
        await eventually(lambda: _holds(kafka, topic, ids), timeout=20)
        await delete_topics(kafka, [topic])
        await eventually(lambda: _holds(kafka, topic, ids), timeout=20)
    finally:
        await relay.stop()
    records = await read_topic(kafka, topic)
    assert sorted(str(header(r, "ce_id")) for r in records) == sorted(ids)  # each exactly once
    assert_in_order_per_stream(records)
    assert await _partitions(kafka, topic) == 3
    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {}, limit=100)).items
    assert all(r["sent"] and r["partition"] in (0, 1, 2) for r in rows)
    assert {r["offset"] for r in rows if r["partition"] == 0} == set(range(sum(
        1 for r in rows if r["partition"] == 0
    )))  # fmt: skip


async def test_a_log_refilled_with_other_events_is_noticed_and_republished(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    """The broker came back empty and took other records past the relay's last offsets."""
    topic = unique_topic()
    await ensure_topics(kafka, [topic], partitions=3)
    ids = await add_events(store, topic, streams=6, per_stream=3)
    relay = OutboxRelay(store, publisher, log_probe=KafkaLogProbe(kafka, partitions=3))
    await drain(relay, store)
    assert (await relay.verify_log()).clean

    await delete_topics(kafka, [topic])
    await eventually(lambda: _gone(kafka, topic))
    await ensure_topics(kafka, [topic], partitions=3)
    foreign = [uuid.uuid4().hex for _ in range(60)]
    for n, event_id in enumerate(foreign):
        await produce(kafka, topic, b"{}", [("ce_id", event_id.encode())], f"x{n}".encode())

    check = await relay.verify_log()
    assert not check.clean and {t for t, _ in check.lost} == {topic}
    await drain(relay, store)
    on_topic = await ids_on(kafka, topic)
    assert sorted(on_topic) == sorted(ids + foreign)
    assert (await relay.verify_log()).clean  # restored: nothing more to republish


async def test_a_broker_restarting_empty_gets_every_event_back(
    store_kind: str, store: Store
) -> None:
    """The embedded broker (memory storage) is killed and started again on the same port."""
    if store_kind != "sqlite":
        pytest.skip("broker faults don't depend on the store; the deleted-topic test covers both")
    port = free_port()
    broker = EmbeddedKafka(port=port).start()
    topic, consumed = unique_topic(), unique_topic()  # one it publishes, one it only reads
    await ensure_topics(broker.bootstrap_servers, [topic, consumed], partitions=3)
    publisher = KafkaPublisher(broker.bootstrap_servers)
    await publisher.start()
    relay = OutboxRelay(
        store,
        publisher,
        log_probe=KafkaLogProbe(broker.bootstrap_servers, partitions=3),
        topics=[topic, consumed],
        verify_interval=0.5,
        poll_interval=0.05,
    )
    relay.start()
    try:
        before = await add_events(store, topic, streams=5, per_stream=4)
        await eventually(lambda: _holds(broker.bootstrap_servers, topic, before), timeout=20)
        broker.stop()
        during = await add_events(store, topic, streams=3, per_stream=2)
        await asyncio.sleep(1.0)
        broker = EmbeddedKafka(port=port).start()
        after = await add_events(store, topic, streams=2, per_stream=2)
        everything = before + during + after
        await eventually(lambda: _holds(broker.bootstrap_servers, topic, everything), timeout=45)
        assert await _partitions(broker.bootstrap_servers, topic) == 3
        await eventually(lambda: _exists(broker.bootstrap_servers, consumed))
        assert await _partitions(broker.bootstrap_servers, consumed) == 3
    finally:
        await relay.stop()
        await publisher.stop()
        broker.stop()


async def test_a_broker_restarted_while_the_relay_idled_is_noticed_without_the_timer(
    store_kind: str, store: Store
) -> None:
    """No periodic check in sight: the relay's next publish to the emptied log gives it away."""
    if store_kind != "sqlite":
        pytest.skip("broker faults don't depend on the store; the deleted-topic test covers both")
    port = free_port()
    broker = EmbeddedKafka(port=port).start()
    topic = unique_topic()
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=3)
    publisher = KafkaPublisher(broker.bootstrap_servers)
    await publisher.start()
    probe = KafkaLogProbe(broker.bootstrap_servers, partitions=3)
    relay = OutboxRelay(store, publisher, log_probe=probe, topics=[topic], verify_interval=3600)
    relay.start()
    try:
        before = await add_events(store, topic, streams=6, per_stream=3)
        await eventually(lambda: _holds(broker.bootstrap_servers, topic, before), timeout=20)
        broker.stop()
        broker = EmbeddedKafka(port=port).start()
        await ensure_topics(broker.bootstrap_servers, [topic], partitions=3)  # like `dev up`
        after = await add_events(store, topic, streams=6, per_stream=1)
        everything = before + after
        await eventually(lambda: _holds(broker.bootstrap_servers, topic, everything), timeout=30)
    finally:
        await relay.stop()
        await publisher.stop()
        broker.stop()


async def _holds(kafka: str, topic: str, ids: list[str]) -> bool:
    try:
        return set(ids) <= set(await ids_on(kafka, topic))
    except Exception:  # the broker is coming back
        return False


async def _gone(kafka: str, topic: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        return topic not in await admin.list_topics()
    finally:
        await admin.close()


async def _exists(kafka: str, topic: str) -> bool:
    return not await _gone(kafka, topic)


async def _partitions(kafka: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()
