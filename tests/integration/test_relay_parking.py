"""An event the broker refuses is parked and holds back only its own stream (real broker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox
from ikmkit.messaging.outbox_parking import NotParked, list_parked, parked_count, retry_parked
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store import Store
from tests.support.kafka import eventually
from tests.support.relay import probe_event, unique_topic
from tests.support.relay_parked import OVERSIZED, on_topic


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(OUTBOX_COLLECTIONS)
    yield fresh_store


async def add(store: Store, topic: str, key: str, note: str = "") -> str:
    async with store.transaction() as uow:
        attrs = await Outbox("/tests").add(uow, probe_event(topic)(key=key, note=note))
    return attrs.id


async def test_an_oversized_event_is_parked_and_holds_back_only_its_own_stream(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    topic = unique_topic()
    await ensure_topics(kafka, [topic], partitions=3)
    victim, other, third = "victim", "other", "third"
    before = await add(store, topic, victim, "ahead of the big one")
    others = [await add(store, topic, other, "o1")]
    big = await add(store, topic, victim, OVERSIZED)
    others.append(await add(store, topic, third, "t1"))
    behind = [await add(store, topic, victim, "behind 1"), await add(store, topic, victim, "b2")]
    others.append(await add(store, topic, other, "o2"))

    relay = OutboxRelay(store, publisher, poll_interval=0.05)
    relay.start()
    try:
        await eventually(lambda: _has(kafka, topic, others))
        await asyncio.sleep(1.5)  # many relay passes: nothing may be published twice
        later = await add(store, topic, victim, "added while parked")
        more = await add(store, topic, other, "o3")
        await eventually(lambda: _has(kafka, topic, [more]))
        # The pass that published "o3" records its outcomes (and holds "later") after the
        # publish: wait for that record, or stopping the relay may cut the pass short.
        await eventually(lambda: _recorded(store, more, later))
    finally:
        await relay.stop()

    log = await on_topic(kafka, topic)
    assert log[victim] == [before]  # the event ahead of it: published exactly once
    assert log[other] == [others[0], others[2], more] and log[third] == [others[1]]
    async with store.transaction() as uow:
        rows = await uow.get_many(OUTBOX, [big, *behind, later, before])
    assert rows[big]["parked"] is True and rows[big]["sent"] is False
    assert "MessageSizeTooLargeError" in rows[big]["parked_reason"] and rows[big]["parked_at"]
    assert all(rows[i]["held"] is True and not rows[i]["sent"] for i in [*behind, later])
    assert rows[before]["sent"] is True
    assert await parked_count(store) == 1
    [listed] = await list_parked(store)
    assert (listed["id"], listed["held_behind"], listed["sequence"]) == (big, 3, 2)
    assert listed["size_bytes"] > 1024 * 1024

    # Retried as it is, it is still refused and stays parked.
    refused = await retry_parked(store, publisher, big)
    assert not refused.published and "MessageSizeTooLargeError" in str(refused.reason)
    assert await parked_count(store) == 1

    # The operator raised the limits (broker and service): the retry publishes it, and the
    # events held behind it follow in order.
    raised = KafkaPublisher(kafka, max_message_bytes=4 * 1024 * 1024)
    await raised.start()
    try:
        outcome = await retry_parked(store, raised, big)
        assert outcome.published and outcome.released == 3
        relay = OutboxRelay(store, raised, poll_interval=0.05)
        relay.start()
        try:
            await eventually(lambda: _has(kafka, topic, [*behind, later]))
        finally:
            await relay.stop()
    finally:
        await raised.stop()
    log = await on_topic(kafka, topic)
    assert log[victim] == [before, big, *behind, later]
    assert await parked_count(store) == 0
    with pytest.raises(NotParked):
        await retry_parked(store, publisher, big)


async def test_a_forced_retry_skips_the_services_own_size_check(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    topic = unique_topic()
    await ensure_topics(kafka, [topic], partitions=3)
    big = await add(store, topic, "k", OVERSIZED)
    after = await add(store, topic, "k", "next")
    relay = OutboxRelay(store, publisher)
    await relay.publish_pending()
    assert await parked_count(store) == 1
    outcome = await retry_parked(store, publisher, big, force=True)
    assert outcome.published and outcome.released == 1
    relay.released(outcome.stream)
    assert await relay.publish_pending() == 1
    assert (await on_topic(kafka, topic))["k"] == [big, after]


async def _recorded(store: Store, sent: str, held: str) -> bool:
    async with store.transaction() as uow:
        rows = await uow.get_many(OUTBOX, [sent, held])
    return rows[sent].get("sent") is True and rows[held].get("held") is True


async def _has(kafka: str, topic: str, ids: list[str]) -> bool:
    log = await on_topic(kafka, topic)
    return set(ids) <= {i for mine in log.values() for i in mine}
