"""Every hop wakes on work: a commit wakes its reader at once, no timer stands in between.

(The end-to-end figure is ``python -m bench latency``; these pin each mechanism.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from faststream.kafka import KafkaRouter

from contracts.envelope import EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered, OwnerContact
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.cloudevents import event_payload, to_headers
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.outbox import OutgoingMessage, PublishResult
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.service.settings import ServiceSettings
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import UnitOfWork, Units
from services.notify import consumers
from services.notify.bootstrap import Notify, bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.enterprises import registration
from tests.support.records import Record
from tests.support.units import memory_units

NIB = "1234567890123"


def registered(nib: str = NIB) -> EnterpriseRegistered:
    owner = OwnerContact(name="Siti", email="siti@example.id")
    return registration(nib, owner=owner, at=datetime(2026, 12, 1, tzinfo=UTC))


def in_transaction(units: Units[Any]) -> bool:
    store = units.store
    assert isinstance(store, SqliteStore)
    return store._connection().in_transaction


@pytest.fixture
async def units() -> AsyncIterator[Units[UnitOfWork]]:
    async with memory_units(UnitOfWork) as made:
        yield made


async def test_after_commit_callbacks_run_once_committed_and_never_on_rollback(
    units: Units[UnitOfWork],
) -> None:
    seen: list[tuple[str, bool]] = []
    async with units.open() as uow:
        uow.after_commit(lambda: seen.append(("kept", in_transaction(units))))
    with pytest.raises(RuntimeError):
        async with units.open() as uow:
            uow.after_commit(lambda: seen.append(("rolled back", in_transaction(units))))
            raise RuntimeError("the handler failed")
    assert seen == [("kept", False)]


async def test_the_outbox_wakes_the_relay_after_the_commit_not_before(
    units: Units[UnitOfWork],
) -> None:
    wakes: list[bool] = []
    units.outbox.on_add(lambda: wakes.append(in_transaction(units)))

    async def register(uow: UnitOfWork) -> None:
        uow.record(registered())

    await units.run(register)
    assert wakes == [False]  # once, with the events committed: a woken relay finds them


class InstantPublisher:
    def __init__(self) -> None:
        self.published: list[OutgoingMessage] = []

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        self.published += messages
        return [PublishResult(0, n, n) for n in range(len(messages))]


async def test_the_relay_publishes_a_commit_without_waiting_for_a_timer(
    units: Units[UnitOfWork],
) -> None:
    publisher = InstantPublisher()
    relay = OutboxRelay(units.store, publisher, poll_interval=60.0)
    units.outbox.on_add(relay.wake)
    relay.start()
    try:
        await asyncio.sleep(0.05)  # the first pass: lease taken, nothing pending, now idle

        async def register(uow: UnitOfWork) -> None:
            uow.record(registered())

        await units.run(register)
        started = time.monotonic()
        # Yields only: a relay that sleeps to coalesce, or polls, would not have published yet.
        for _ in range(200):
            if publisher.published:
                break
            await asyncio.sleep(0)
        assert len(publisher.published) == 1, f"not published after {time.monotonic() - started}s"
    finally:
        await relay.stop()


def record_of(event: EnterpriseRegistered, offset: int) -> Record:
    attrs = EnvelopeAttributes(
        id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry",
        time=datetime(2026, 12, 1, tzinfo=UTC), subject=event.nib, region="34", sequence=1,
        hash="h",
    )  # fmt: skip
    value = event_payload(event).encode()
    return Record(ENTERPRISE_TOPIC, 0, offset, event.nib.encode(), value, to_headers(attrs))


class NoMail:
    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        raise AssertionError("the dispatcher does not run in this test")

    async def close(self) -> None:
        pass


async def test_notify_wakes_its_dispatcher_once_the_notifications_are_committed() -> None:
    async with memory_units(NotifyUnit, COLLECTIONS) as units:
        deps: Notify = bootstrap(units.store, units.outbox, NotifySettings(), email=NoMail())
        wakes: list[bool] = []
        deps.dispatcher.wake = lambda: wakes.append(in_transaction(units))  # type: ignore[method-assign]
        runtime: Any = SimpleNamespace(publisher=None)
        consumer = consumers.build_consumer(deps, runtime)
        await consumer.process([record_of(registered("1111111111111"), 0)])
        await consumer.process([record_of(registered(f"22222222222{n}2"), n) for n in range(3)])
        assert wakes == [False, False]  # one wake per unit of work, each after its commit


def test_consumers_fetch_with_a_short_max_wait_and_batch_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker that answers fetches only at their max wait (the embedded one), and
    FastStream's sleep after an empty batch, must not add their defaults (500 ms, 100 ms).
    (The wait is the setting the lifespan passes, as its clients' settings give it there.)"""
    for name, value in EmbeddedKafka.CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    wait = ServiceSettings().kafka_fetch_max_wait_ms
    for batch in (True, False):
        consumer: EventConsumer[UnitOfWork] = EventConsumer(
            group="g", units=Units(SqliteStore(":memory:"), Any, UnitOfWork), dead_letters=Any
        )
        consumer.handles(EnterpriseRegistered)(lambda *_: asyncio.sleep(0))
        consumer.subscribe(KafkaRouter(), batch=batch, fetch_max_wait_ms=wait)
        # The aiokafka consumer options FastStream starts the subscriber's consumer with.
        options = consumer.subscriber._connection_args
        assert options["fetch_max_wait_ms"] <= 10
        if batch:
            assert consumer.subscriber.batch_timeout_ms <= 10
