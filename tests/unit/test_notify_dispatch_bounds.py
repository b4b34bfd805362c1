"""How long a row the dispatcher's reading-on passes over (committed late with an earlier
due time) can wait. Idle (nothing more due, no wake): one poll, ``dispatch_idle_seconds``
(the pass that found less than a batch read to the end, so the next reads from the start).
Busy (every pass a full batch, passes back to back): at most ``FULL_READ_EVERY + 1`` reads.
Real SQLite store (in memory)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from ikmkit.unit_of_work import Units
from services.notify.bootstrap import bootstrap
from services.notify.dispatcher import FULL_READ_EVERY
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
    registered,
    until,
)

LATE = "1234567890140"  # registered(40): the row committed late
IDLE = 0.2

units = pytest.fixture(notify_units, name="units")
reads = pytest.fixture(count_reads, name="reads")


async def _commit_late(units: Units[NotifyUnit]) -> None:
    """A row due before every row read so far, committed now (no wake: idle case)."""
    units.clock = lambda: T0 - timedelta(seconds=1)
    await notify(units, [registered(40)])
    units.clock = lambda: T0 + timedelta(seconds=1)


async def _late_sent(mail: FakeMail) -> bool:
    return any(LATE in sent for sent in mail.sent)


async def test_idle_a_passed_over_row_is_sent_within_two_polls(
    units: Units[NotifyUnit], reads: list[int]
) -> None:
    mail = FakeMail()
    settings = NotifySettings(dispatch_batch=2, dispatch_idle_seconds=IDLE)
    deps = bootstrap(units.store, units.outbox, settings, email=mail)
    gate = Gate(deps.dispatcher)
    await notify(units, [registered(i) for i in range(5)])
    async with dispatching(units, deps.dispatcher):
        await asyncio.wait_for(gate.held.wait(), 5)
        await until(lambda: at_least(mail.sent, 4))
        await _commit_late(units)
        gate.release.set()
        await until(lambda: at_least(mail.sent, 5))  # the last, read on: idle from here
        idle_from = time.monotonic()
        await until(lambda: _late_sent(mail))
        waited = time.monotonic() - idle_from
    assert reads[:3] == [2, 2, 1]  # the third read went on past the late row
    assert waited <= IDLE + 0.3, waited
    assert len(mail.sent) == len(set(mail.sent)) == 6


class HookedMail(FakeMail):
    """Commits the late row while the ``at``-th mail is sent (the system busy)."""

    def __init__(self, units: Units[NotifyUnit], at: int) -> None:
        super().__init__()
        self.units, self.at = units, at
        self.reads_then: int | None = None
        self.reads: list[int] = []

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        await super().send(to=to, subject=subject, body=body, message_id=message_id)
        if len(self.sent) == self.at:
            await _commit_late(self.units)
            self.reads_then = len(self.reads)
        if LATE in message_id:
            assert self.reads_then is not None
            self.late_after = len(self.reads) - self.reads_then


async def test_busy_a_passed_over_row_is_sent_within_full_read_every_passes(
    units: Units[NotifyUnit], reads: list[int]
) -> None:
    mail = HookedMail(units, at=7)
    mail.reads = reads
    settings = NotifySettings(dispatch_batch=2, dispatch_concurrency=1, dispatch_idle_seconds=5)
    deps = bootstrap(units.store, units.outbox, settings, email=mail)
    await notify(units, [registered(i) for i in range(40)])
    async with dispatching(units, deps.dispatcher):
        await until(lambda: at_least(mail.sent, 41))
        await asyncio.sleep(0.05)
    assert 1 <= mail.late_after <= FULL_READ_EVERY + 1, (mail.late_after, reads)
    assert mail.sent.index(next(s for s in mail.sent if LATE in s)) < 40  # not left to the end
    assert len(mail.sent) == len(set(mail.sent)) == 41
