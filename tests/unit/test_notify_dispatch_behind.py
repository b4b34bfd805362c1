"""While notify's consumer works through a backlog, the dispatcher takes small passes: the
sends (on their own thread) then go out a pass per consumer commit instead of taking an
equal share of the CPU from the consumer, and e-mail still goes out all along. A batch of
100 events or more tells the dispatcher; a second after the last one, passes are whole
again. Real SQLite store (in memory), fake mail client."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from ikmkit.unit_of_work import Units
from services.notify import consumers
from services.notify import dispatcher as dispatching
from services.notify.bootstrap import bootstrap
from services.notify.consumers import build_consumer
from services.notify.settings import NotifySettings
from services.notify.store import NotifyUnit
from tests.support.notify_dispatch import T0, FakeMail, notify, notify_units, registered
from tests.support.records import NoDeadLetters

units = pytest.fixture(notify_units, name="units")


async def test_passes_are_small_while_the_consumer_is_behind(
    units: Units[NotifyUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=60), email=mail)
    await notify(units, [registered(i) for i in range(90)])
    units.clock = lambda: T0 + timedelta(seconds=1)
    now = [1000.0]
    monkeypatch.setattr(dispatching.time, "monotonic", lambda: now[0])

    deps.dispatcher.consumer_behind()
    assert await deps.dispatcher.dispatch_due() == dispatching.BEHIND_BATCH
    now[0] += dispatching.BEHIND_SECONDS - 0.01
    assert await deps.dispatcher.dispatch_due() == dispatching.BEHIND_BATCH
    now[0] += 0.02  # a second after the consumer last said so: whole passes again
    assert await deps.dispatcher.dispatch_due() == 90 - 2 * dispatching.BEHIND_BATCH
    assert sorted(mail.sent) == sorted(set(mail.sent)) and len(mail.sent) == 90


async def test_a_batch_of_a_hundred_events_tells_the_dispatcher(
    units: Units[NotifyUnit],
) -> None:
    deps = bootstrap(units.store, units.outbox, NotifySettings(), email=FakeMail())
    runtime = SimpleNamespace(publisher=NoDeadLetters())
    on_batch = build_consumer(deps, runtime)._batch_handler  # type: ignore[arg-type]
    assert on_batch is not None
    async with units.open() as uow:
        await on_batch([registered(i) for i in range(consumers.BACKLOG_EVENTS - 1)], uow)
    units.clock = lambda: T0 + timedelta(seconds=1)
    assert await deps.dispatcher.dispatch_due() == consumers.BACKLOG_EVENTS - 1  # one pass
    async with units.open() as uow:
        await on_batch([registered(i) for i in range(consumers.BACKLOG_EVENTS)], uow)
    assert await deps.dispatcher.dispatch_due() == dispatching.BEHIND_BATCH
