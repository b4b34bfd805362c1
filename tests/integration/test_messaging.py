"""The messaging kit over the real broker: outbox, relay, inbox, ack policy, retries, DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered
from contracts.topics import dead_letter_topic, source_of
from ikmkit.messaging.consumer import EventConsumer, PermanentError, RedeliveryPolicy
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.outbox import (
    OUTBOX_COLLECTIONS,
    Outbox,
    OutgoingMessage,
    PublishResult,
    outbox_backlog,
)
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store import CollectionSpec, Store
from ikmkit.unit_of_work import UnitOfWork
from tests.support.enterprises import registration
from tests.support.kafka import consuming, eventually, header, produce, produce_event, read_topic
from tests.support.units import plain_units

EFFECTS = "effects"
REGISTRY = source_of("registry")  # the owner of the enterprise topic these tests produce on


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([CollectionSpec(EFFECTS), *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    yield fresh_store


def nib() -> str:
    return str(uuid.uuid4().int)[:13]


def registered(nib_: str, name: str = "CV Uji") -> EnterpriseRegistered:
    return registration(nib_, name)


def group() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def effects_for(store: Store, key: str) -> list[dict[str, object]]:
    async with store.transaction() as uow:
        return (await uow.find(EFFECTS, {"nib": key}, limit=1000)).items


async def record_effect(event: EnterpriseRegistered, meta: object, uow: UnitOfWork) -> None:
    await uow.tx.insert(EFFECTS, {"id": uuid.uuid4().hex, "nib": event.nib, "name": event.name})


# --- outbox -----------------------------------------------------------------


async def test_the_event_commits_or_rolls_back_with_the_state_change(store: Store) -> None:
    outbox = Outbox(REGISTRY)
    key = nib()
    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.insert(EFFECTS, {"id": key, "nib": key})
            await outbox.add(uow, registered(key))
            raise RuntimeError("the use case failed after emitting")
    assert (await outbox_backlog(store)).pending == 0
    async with store.transaction() as uow:
        await uow.insert(EFFECTS, {"id": key, "nib": key})
        await outbox.add(uow, registered(key))
    backlog = await outbox_backlog(store)
    assert backlog.pending == 1
    assert backlog.oldest_age_seconds >= 0


async def test_relay_publishes_in_order_per_aggregate_and_marks_sent(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    outbox = Outbox(REGISTRY)
    first, second = nib(), nib()
    for i in range(3):
        for key in (first, second):
            async with store.transaction() as uow:
                await outbox.add(uow, registered(key, name=f"v{i}"))
    relay = OutboxRelay(store, publisher)
    assert await relay.publish_pending() == 6
    assert (await outbox_backlog(store)).pending == 0
    records = await read_topic(kafka, ENTERPRISE_TOPIC)
    for key in (first, second):
        mine = [r for r in records if r.key == key.encode()]
        assert [header(r, "ce_sequence") for r in mine] == [f"{n:016d}" for n in (1, 2, 3)]
        assert [json.loads(r.value)["name"] for r in mine] == ["v0", "v1", "v2"]
        assert len({r.partition for r in mine}) == 1


class CrashAfterPublish:
    """Publishes, then dies before the relay can mark the events sent."""

    def __init__(self, inner: KafkaPublisher) -> None:
        self.inner = inner

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        await self.inner.publish_batch(messages)
        raise ConnectionError("process killed between publish and mark")


async def test_a_crash_between_publish_and_mark_republishes_and_consumers_dedup(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    outbox = Outbox(REGISTRY)
    key = nib()
    async with store.transaction() as uow:
        attrs = await outbox.add(uow, registered(key))
    with pytest.raises(ConnectionError):
        await OutboxRelay(store, CrashAfterPublish(publisher), lease_seconds=0.2).publish_pending()
    assert (await outbox_backlog(store)).pending == 1
    await asyncio.sleep(0.3)  # the dead relay's lease runs out; a restarted one takes over
    assert await OutboxRelay(store, publisher).publish_pending() == 1
    copies = [r for r in await read_topic(kafka, ENTERPRISE_TOPIC) if r.key == key.encode()]
    assert [header(r, "ce_id") for r in copies] == [attrs.id, attrs.id]

    consumer = EventConsumer(group=group(), units=plain_units(store), dead_letters=publisher)
    consumer.handles(EnterpriseRegistered)(record_effect)
    await consumer.process(copies)
    await consumer.process(copies)  # and redelivered once more
    assert len(await effects_for(store, key)) == 1


async def test_only_one_relay_holds_the_lease(store: Store, publisher: KafkaPublisher) -> None:
    outbox = Outbox(REGISTRY)
    async with store.transaction() as uow:
        await outbox.add(uow, registered(nib()))
    leader, follower = OutboxRelay(store, publisher), OutboxRelay(store, publisher)
    assert await leader.publish_pending() == 1
    async with store.transaction() as uow:
        await outbox.add(uow, registered(nib()))
    assert await follower.publish_pending() == 0
    assert await leader.publish_pending() == 1


# --- consuming ----------------------------------------------------------------
# Consumption semantics don't depend on the adapter (the inbox and effect share a unit of
# work on both, proven above and by the conformance suite), so these run on SQLite only.


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_offsets_are_committed_only_after_the_effect(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    name = group()
    key = nib()
    started = asyncio.Event()

    async def crash_midway(event: EnterpriseRegistered, meta: object, uow: UnitOfWork) -> None:
        if event.nib == key:
            started.set()
            await asyncio.sleep(3600)  # the process dies here, effect not stored

    dying = EventConsumer(group=name, units=plain_units(store), dead_letters=publisher)
    dying.handles(EnterpriseRegistered)(crash_midway)
    await produce_event(kafka, registered(key))
    async with consuming(kafka, dying, graceful_timeout=0.5):
        await asyncio.wait_for(started.wait(), 60)
    # A new instance of the same group gets the event again and stores the effect.
    healthy = EventConsumer(group=name, units=plain_units(store), dead_letters=publisher)
    healthy.handles(EnterpriseRegistered)(record_effect)
    async with consuming(kafka, healthy):
        await eventually(lambda: effects_for(store, key), timeout=60)
    assert len(await effects_for(store, key)) == 1


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_transient_errors_are_retried_with_backoff(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    key = nib()
    calls = 0

    async def flaky(event: EnterpriseRegistered, meta: object, uow: UnitOfWork) -> None:
        nonlocal calls
        if event.nib != key:
            return
        calls += 1
        if calls < 3:
            raise ConnectionError("downstream blip")
        await record_effect(event, meta, uow)

    consumer = EventConsumer(
        group=group(),
        units=plain_units(store),
        dead_letters=publisher,
        redelivery=RedeliveryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05),
    )
    consumer.handles(EnterpriseRegistered)(flaky)
    await produce_event(kafka, registered(key))
    async with consuming(kafka, consumer):
        await eventually(lambda: effects_for(store, key), timeout=60)
    assert calls == 3
    assert len(await effects_for(store, key)) == 1


async def dead_letters(kafka: str, consumer_group: str, key: str) -> list:
    topic = dead_letter_topic(ENTERPRISE_TOPIC, consumer_group)
    return [r for r in await read_topic(kafka, topic) if r.key == key.encode()]


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_exhausted_retries_and_permanent_errors_go_to_the_dlq_and_the_consumer_moves_on(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    name = group()
    always_failing, refused, fine = nib(), nib(), nib()

    async def handler(event: EnterpriseRegistered, meta: object, uow: UnitOfWork) -> None:
        if event.nib == always_failing:
            raise TimeoutError("downstream never answers")
        if event.nib == refused:
            raise PermanentError("enterprise belongs to no known program")
        await record_effect(event, meta, uow)

    consumer = EventConsumer(
        group=name,
        units=plain_units(store),
        dead_letters=publisher,
        redelivery=RedeliveryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
    )
    consumer.handles(EnterpriseRegistered)(handler)
    for key in (always_failing, refused, fine):
        await produce_event(kafka, registered(key))
    async with consuming(kafka, consumer):
        await eventually(lambda: effects_for(store, fine), timeout=60)
        failed = await eventually(lambda: dead_letters(kafka, name, always_failing))
        permanent = await eventually(lambda: dead_letters(kafka, name, refused))
    assert header(failed[0], "dlq_reason") == "retries_exhausted"
    assert header(failed[0], "dlq_attempts") == "3"
    assert "TimeoutError" in (header(failed[0], "dlq_error") or "")
    assert header(failed[0], "ce_type") == EnterpriseRegistered.ce_type()
    assert json.loads(failed[0].value)["nib"] == always_failing
    assert header(permanent[0], "dlq_reason") == "unprocessable"
    assert header(permanent[0], "dlq_attempts") == "1"


BAD_INPUTS = {
    "malformed_json": (b'{"nib": "not closed', "application/json", None),
    "wrong_content_type": (b"<xml/>", "application/xml", None),
    "unknown_event_type": (b"{}", "application/json", "id.go.kemenperin.ikm.NoSuchThing.v1"),
    "contract_violation": (b'{"nib": 42}', "application/json", None),
}


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("batch", [False, True], ids=["per-message", "batch"])
async def test_bad_input_lands_in_the_dlq_with_the_reason_and_original_bytes(
    store: Store, publisher: KafkaPublisher, kafka: str, batch: bool
) -> None:
    name = group()
    keys = {reason: nib() for reason in BAD_INPUTS}
    for reason, (value, content_type, ce_type) in BAD_INPUTS.items():
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", uuid.uuid4().hex.encode()),
            ("ce_type", (ce_type or EnterpriseRegistered.ce_type()).encode()),
            ("ce_source", REGISTRY.encode()),
            ("ce_time", datetime.now(UTC).isoformat().encode()),
            ("ce_subject", keys[reason].encode()),
            ("content-type", content_type.encode()),
        ]
        await produce(kafka, ENTERPRISE_TOPIC, value, headers, keys[reason].encode())
    good = nib()
    await produce_event(kafka, registered(good))
    consumer = EventConsumer(group=name, units=plain_units(store), dead_letters=publisher)
    consumer.handles(EnterpriseRegistered)(record_effect)
    async with consuming(kafka, consumer, batch=batch):
        await eventually(lambda: effects_for(store, good), timeout=60)
        for reason, (value, _, _) in BAD_INPUTS.items():
            parked = await eventually(lambda k=keys[reason]: dead_letters(kafka, name, k))
            assert header(parked[0], "dlq_reason") == reason
            assert parked[0].value == value
            assert header(parked[0], "dlq_consumer_group") == name
            assert header(parked[0], "dlq_original_topic") == ENTERPRISE_TOPIC
    assert len(await effects_for(store, good)) == 1


async def test_a_batch_handler_writes_in_bulk_and_the_fallback_isolates_a_poison_event(
    store: Store, publisher: KafkaPublisher, kafka: str
) -> None:
    keys = [nib() for _ in range(5)]
    poison = keys[2]
    for key in keys:
        await produce_event(kafka, registered(key))
    records = [r for r in await read_topic(kafka, ENTERPRISE_TOPIC) if r.key.decode() in set(keys)]
    batches: list[int] = []

    async def bulk(items: list[tuple[EnterpriseRegistered, object]], uow: UnitOfWork) -> None:
        batches.append(len(items))
        if any(event.nib == poison for event, _ in items):
            raise PermanentError("one bad apple")
        await uow.tx.insert_many(
            EFFECTS, [{"id": uuid.uuid4().hex, "nib": event.nib} for event, _ in items]
        )

    async def one(event: EnterpriseRegistered, meta: object, uow: UnitOfWork) -> None:
        if event.nib == poison:
            raise PermanentError("one bad apple")
        await record_effect(event, meta, uow)

    name = group()
    consumer = EventConsumer(group=name, units=plain_units(store), dead_letters=publisher)
    consumer.handles(EnterpriseRegistered)(one)
    consumer.handles_batch(bulk)
    await consumer.process(records)
    assert batches == [5]  # tried in bulk, then one by one
    for key in keys:
        assert len(await effects_for(store, key)) == (0 if key == poison else 1)
    assert header((await dead_letters(kafka, name, poison))[0], "dlq_reason") == "unprocessable"

    healthy = [r for r in records if r.key.decode() != poison]
    await consumer.process(healthy)  # redelivered: the inbox skips them all, no new batch
    assert batches == [5]
    for key in keys:
        assert len(await effects_for(store, key)) == (0 if key == poison else 1)
