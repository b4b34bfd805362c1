"""What the notify dispatcher's unit tests share: an in-memory notify store at a fixed
time, the dispatcher's reads counted, a mail client that records
message ids, registrations to notify about, and a gate that holds the dispatcher's first
recording of outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered, OwnerContact
from ikmkit.unit_of_work import Units
from services.notify import handlers, queries
from services.notify.bootstrap import bootstrap
from services.notify.commands import SendOutcome
from services.notify.dispatcher import Dispatcher
from services.notify.queries import DueWork
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.units import memory_units

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class FakeMail:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        self.sent.append(message_id)

    async def close(self) -> None:
        pass


async def notify_units() -> AsyncIterator[Units[NotifyUnit]]:
    """A test module's ``units`` fixture: ``units = pytest.fixture(notify_units, name="units")``."""
    async with memory_units(NotifyUnit, COLLECTIONS) as made:
        made.clock = lambda: T0
        yield made


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many notifications each of the dispatcher's reads loaded (a fixture: ``reads =
    pytest.fixture(count_reads, name="reads")``)."""
    loaded: list[int] = []
    due = queries.due

    async def counted(uow: NotifyUnit, limit: int, *args: Any) -> DueWork:
        work = await due(uow, limit, *args)
        loaded.append(len(work.notifications))
        return work

    monkeypatch.setattr(queries, "due", counted)
    return loaded


def registered(i: int) -> tuple[EnterpriseRegistered, EnvelopeAttributes]:
    event = EnterpriseRegistered(
        nib=f"12345678901{i:02d}",
        province="34",
        name="CV Maju",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(name="Siti", email=f"siti{i}@example.id", phone="081234567890"),
        registered_at=T0,
    )
    meta = EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ikm/registry",
        time=T0,
        subject=event.nib,
        region="34",
        sequence=1,
        hash="h",
    )
    return event, meta


async def notify(units: Units[NotifyUnit], events: list[tuple[EnterpriseRegistered, Any]]) -> None:
    deps = bootstrap(units.store, units.outbox, NotifySettings(), email=FakeMail())
    async with units.open() as uow:
        await handlers.notify_about(uow, events, {}, deps.subscriptions)


class Gate:
    """Holds the dispatcher's first recording of outcomes (before its unit of work opens,
    so the store stays writable) until ``release``."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        record = dispatcher._record

        async def held(outcomes: list[SendOutcome]) -> None:
            if not self.held.is_set():
                self.held.set()
                await self.release.wait()
            await record(outcomes)

        dispatcher._record = held  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def dispatching(units: Units[NotifyUnit], dispatcher: Dispatcher) -> AsyncIterator[None]:
    """The dispatcher's loop running for the block, a second after ``T0`` (so what was
    notified at ``T0`` is due); then stopped as the service stops it: cancelled, awaited."""
    units.clock = lambda: T0 + timedelta(seconds=1)
    running = asyncio.create_task(dispatcher.run())
    try:
        yield
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(5000):
        if await check():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("not within 5 s")


async def pending(units: Units[NotifyUnit]) -> int:
    async with units.open() as uow:
        return len(await uow.notifications.due(T0 + timedelta(days=1), 100))


async def at_least(sent: list[str], count: int) -> bool:
    return len(sent) >= count
