"""While a batch's outcomes are being recorded its rows are still pending: the next pass
reads on from where the previous read ended instead of reading them again to skip them
(a read of twice the batch, half thrown away). Nothing is sent twice, nothing is skipped:
a row that reading on passes over (committed late with an earlier due time) is still sent,
by a pass reading from the start. Against the dev SMTP sink (aiosmtpd) too."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from ikm_cli.devextras import SmtpSink
from ikmkit.unit_of_work import Units
from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import NotifyUnit
from tests.support.notify_dispatch import (
    T0,
    FakeMail,
    Gate,
    at_least,
    count_reads,
    dispatching,
    notify,
    notify_units,
    pending,
    registered,
    until,
)

units = pytest.fixture(notify_units, name="units")
reads = pytest.fixture(count_reads, name="reads")


async def test_a_pass_during_recording_reads_only_rows_not_sent(
    units: Units[NotifyUnit], reads: list[int]
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=2), email=mail)
    gate = Gate(deps.dispatcher)
    await notify(units, [registered(i) for i in range(6)])
    async with dispatching(units, deps.dispatcher):
        await asyncio.wait_for(gate.held.wait(), 5)
        await until(lambda: at_least(mail.sent, 4))  # the second pass, while recording
        gate.release.set()
        await until(lambda: _none_pending(units, mail.sent, 6))
    assert reads[:3] == [2, 2, 2]  # before: 2, then 4 (the 2 being recorded read again)
    assert len(mail.sent) == len(set(mail.sent)) == 6


async def test_a_row_committed_late_with_an_earlier_due_time_is_sent_once(
    units: Units[NotifyUnit], reads: list[int]
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=2), email=mail)
    gate = Gate(deps.dispatcher)
    await notify(units, [registered(i) for i in range(6)])
    async with dispatching(units, deps.dispatcher):
        await asyncio.wait_for(gate.held.wait(), 5)
        await until(lambda: at_least(mail.sent, 4))
        units.clock = lambda: T0 - timedelta(seconds=1)  # before every row read so far
        await notify(units, [registered(40)])
        units.clock = lambda: T0 + timedelta(seconds=1)
        deps.dispatcher.wake()
        gate.release.set()
        await until(lambda: _none_pending(units, mail.sent, 7))
        await asyncio.sleep(0.05)  # a duplicate would be sent in here
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
    await notify(units, events)
    try:
        async with dispatching(units, deps.dispatcher):
            await until(lambda: _received(sink, 40))
            await asyncio.sleep(0.2)  # a duplicate would arrive in here
    finally:
        await deps.dispatcher.close()
        sink.stop()
    ids = [message["X-IKM-Notification-Id"] for message in sink.received()]
    assert len(ids) == len(set(ids)) == 40
    assert await pending(units) == 0
    assert uuid.UUID(ids[0].split("|")[0])


async def _none_pending(units: Units[NotifyUnit], sent: list[str], count: int) -> bool:
    return len(sent) >= count and await pending(units) == 0


async def _received(sink: SmtpSink, count: int) -> bool:
    return sink.count >= count
