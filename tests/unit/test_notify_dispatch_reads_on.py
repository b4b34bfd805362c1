"""While a batch's outcomes are being recorded its rows are still pending: the next pass
reads on from where the previous read ended instead of reading them again to skip them
(a read of twice the batch, half thrown away). Nothing is sent twice, nothing is skipped:
a row that reading on passes over (committed late with an earlier due time) is still sent,
by a pass reading from the start. Against the dev SMTP sink (aiosmtpd) too."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.registry import EnterpriseRegistered
from ikm_cli.devextras import SmtpSink
from ikmkit.unit_of_work import Units
from services.notify import handlers, queries
from services.notify.bootstrap import bootstrap
from services.notify.commands import SendOutcome
from services.notify.dispatcher import Dispatcher
from services.notify.queries import DueWork
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.units import memory_units
from tests.unit.test_notify_dispatch_overlap import T0, FakeMail, _pending, _until, registered


@pytest.fixture
async def units() -> AsyncIterator[Units[NotifyUnit]]:
    async with memory_units(NotifyUnit, COLLECTIONS) as made:
        made.clock = lambda: T0
        yield made


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many notifications each of the dispatcher's reads loaded."""
    loaded: list[int] = []
    due = queries.due

    async def counted(uow: NotifyUnit, limit: int, *args: Any) -> DueWork:
        work = await due(uow, limit, *args)
        loaded.append(len(work.notifications))
        return work

    monkeypatch.setattr(queries, "due", counted)
    return loaded


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


async def _notify(units: Units[NotifyUnit], events: list[tuple[EnterpriseRegistered, Any]]) -> None:
    deps = bootstrap(units.store, units.outbox, NotifySettings(), email=FakeMail())
    async with units.open() as uow:
        await handlers.notify_about(uow, events, {}, deps.subscriptions)


async def test_a_pass_during_recording_reads_only_rows_not_sent(
    units: Units[NotifyUnit], reads: list[int]
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=2), email=mail)
    gate = Gate(deps.dispatcher)
    await _notify(units, [registered(i) for i in range(6)])
    units.clock = lambda: T0 + timedelta(seconds=1)
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        await asyncio.wait_for(gate.held.wait(), 5)
        await _until(lambda: _at_least(mail.sent, 4))  # the second pass, while recording
        gate.release.set()
        await _until(lambda: _none_pending(units, mail.sent, 6))
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert reads[:3] == [2, 2, 2]  # before: 2, then 4 (the 2 being recorded read again)
    assert len(mail.sent) == len(set(mail.sent)) == 6


async def test_a_row_committed_late_with_an_earlier_due_time_is_sent_once(
    units: Units[NotifyUnit], reads: list[int]
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=2), email=mail)
    gate = Gate(deps.dispatcher)
    await _notify(units, [registered(i) for i in range(6)])
    units.clock = lambda: T0 + timedelta(seconds=1)
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        await asyncio.wait_for(gate.held.wait(), 5)
        await _until(lambda: _at_least(mail.sent, 4))
        units.clock = lambda: T0 - timedelta(seconds=1)  # before every row read so far
        await _notify(units, [registered(40)])
        units.clock = lambda: T0 + timedelta(seconds=1)
        deps.dispatcher.wake()
        gate.release.set()
        await _until(lambda: _none_pending(units, mail.sent, 7))
        await asyncio.sleep(0.05)  # a duplicate would be sent in here
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert len(mail.sent) == len(set(mail.sent)) == 7
    assert any("1234567890140" in sent for sent in mail.sent)


@pytest.mark.parametrize("batch", [3, 500])
async def test_every_mail_reaches_a_real_sink_exactly_once(
    units: Units[NotifyUnit], tmp_path: Path, batch: int
) -> None:
    sink = SmtpSink(directory=tmp_path / "mail").start()
    settings = NotifySettings(
        smtp_host="127.0.0.1", smtp_port=sink.port, dispatch_batch=batch, data_dir=tmp_path
    )
    deps = bootstrap(units.store, units.outbox, settings)
    events = [registered(i) for i in range(40)]
    await _notify(units, events)
    units.clock = lambda: T0 + timedelta(seconds=1)
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        await _until(lambda: _received(sink, 40))
        await asyncio.sleep(0.2)  # a duplicate would arrive in here
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await deps.email.close()
        sink.stop()
    ids = [message["X-IKM-Notification-Id"] for message in sink.received()]
    assert len(ids) == len(set(ids)) == 40
    assert await _pending(units) == 0
    assert uuid.UUID(ids[0].split("|")[0])


async def _at_least(sent: list[str], count: int) -> bool:
    return len(sent) >= count


async def _none_pending(units: Units[NotifyUnit], sent: list[str], count: int) -> bool:
    return len(sent) >= count and await _pending(units) == 0


async def _received(sink: SmtpSink, count: int) -> bool:
    return sink.count >= count
