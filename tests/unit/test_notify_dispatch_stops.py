"""Stopping the dispatcher (the service's shutdown cancels its task) never loses an outcome
it has: a pass that has sent waits for the previous pass's outcomes to be written, and a stop
arriving then must neither cancel that write nor drop the outcomes of the sends just made,
or a restart sends all of them again. Real SQLite store (in memory); the first write of
outcomes is held, as a busy store (the consumer's writes queued first) would hold it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ikmkit.unit_of_work import Units
from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import NotifyUnit
from tests.support.notify_dispatch import (
    T0,
    FakeMail,
    Gate,
    at_least,
    dispatching,
    notify,
    notify_units,
    pending,
    registered,
    until,
)

units = pytest.fixture(notify_units, name="units")


async def test_a_stop_while_the_previous_outcomes_are_written_loses_none(
    units: Units[NotifyUnit],
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=2), email=mail)
    gate = Gate(deps.dispatcher)
    await notify(units, [registered(i) for i in range(6)])
    units.clock = lambda: T0 + timedelta(seconds=1)
    running = asyncio.create_task(deps.dispatcher.run())
    await asyncio.wait_for(gate.held.wait(), 5)  # pass 1 sent, its outcomes being written
    await until(lambda: at_least(mail.sent, 4))  # pass 2 sent, waits for pass 1's write
    for _ in range(5):
        await asyncio.sleep(0)
    running.cancel()  # the service stops
    await asyncio.sleep(0.01)
    gate.release.set()  # the store gets to the write
    await asyncio.gather(running, return_exceptions=True)
    sent_before = list(mail.sent)
    assert len(sent_before) == 4

    again = FakeMail()  # the restarted service
    restarted = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=2), email=again)
    while await restarted.dispatcher.dispatch_due():
        pass
    assert await pending(units) == 0
    everything = sent_before + again.sent
    assert sorted(everything) == sorted(set(everything))  # none sent twice
    assert len(again.sent) == 2


class StuckMail(FakeMail):
    """The ``stuck``-th send never completes (a slow SMTP server): the stop comes meanwhile."""

    def __init__(self, stuck: int) -> None:
        super().__init__()
        self.stuck = stuck
        self.calls = 0

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        self.calls += 1
        if self.calls == self.stuck:
            await asyncio.Event().wait()
        await super().send(to=to, subject=subject, body=body, message_id=message_id)


async def test_a_stop_in_the_middle_of_a_batch_records_what_was_sent(
    units: Units[NotifyUnit],
) -> None:
    mail = StuckMail(stuck=3)
    settings = NotifySettings(dispatch_batch=4, dispatch_concurrency=1)
    deps = bootstrap(units.store, units.outbox, settings, email=mail)
    await notify(units, [registered(i) for i in range(4)])
    async with dispatching(units, deps.dispatcher):  # leaving it, the service stops
        await until(lambda: at_least(mail.sent, 2))
        await asyncio.sleep(0.01)  # the third send is under way
    assert len(mail.sent) == 2

    again = FakeMail()  # the restarted service
    restarted = bootstrap(units.store, units.outbox, settings, email=again)
    while await restarted.dispatcher.dispatch_due():
        pass
    assert await pending(units) == 0
    assert not set(again.sent) & set(mail.sent)  # what was sent is not sent again
    assert len(again.sent) == 2  # the one under way (its outcome unknown) and the last
