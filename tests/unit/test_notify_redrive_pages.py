"""Every dead notification redriven (``POST /dead/redrive {"all": true}``) a page per unit of
work. In one unit of work it held the store's write lock, which every unit and read takes in
turn (the consumer, the dispatcher, every API read), for as long as it took: 47 s for 60,000
dead notifications after an outage, the whole service still, and ``ikm notify dead redrive
--all`` (30 s timeout) reporting a failure for a redrive that went on to commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, InvalidInput
from services.notify import api, queries
from services.notify.bootstrap import Notify, bootstrap
from services.notify.commands import Redrive
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.notify_dead import dead_email as dead
from tests.support.notify_dispatch import FakeMail
from tests.support.units import memory_units

MINISTRY = Caller(subject="operator", role="ministry")
DEAD = 1507  # pages of 500: three and a few


@pytest.fixture
async def deps() -> AsyncIterator[Notify]:
    async with memory_units(NotifyUnit, COLLECTIONS) as units:
        made = bootstrap(units.store, units.outbox, NotifySettings(), email=FakeMail())
        async with made.units.open() as uow:
            await uow.notifications.add_many([dead(i) for i in range(DEAD)])
        yield made


async def test_every_dead_one_is_redriven_while_the_store_serves_others(deps: Notify) -> None:
    units = deps.units
    reads_during: list[int] = []
    redriving = asyncio.create_task(api.redrive(Redrive(all=True), deps, MINISTRY))

    async def reader() -> None:
        while not redriving.done():
            await asyncio.sleep(0)  # a free lock is taken without a turn of the loop
            await units.read(queries.unread_of, "ministry", MINISTRY)
            if not redriving.done():
                reads_during.append(1)

    await asyncio.gather(reader(), redriving)
    redriven = redriving.result()
    assert redriven.count == DEAD
    assert sorted(redriven.redriven) == sorted(dead(i).id for i in range(DEAD))
    assert len(reads_during) >= 4  # between the pages (it was 2: before and after one unit)
    async with units.open() as uow:
        page, _ = await uow.notifications.dead(10, None)
        ledger = await uow.ledger.of_event("e0")
    assert page == []
    assert [line.status for line in ledger] == ["redriven"]


async def test_named_ones_and_the_rules(deps: Notify) -> None:
    named = [dead(1).id, dead(2).id]
    assert (await api.redrive(Redrive(ids=named), deps, MINISTRY)).redriven == named
    with pytest.raises(InvalidInput):
        await api.redrive(Redrive(), deps, MINISTRY)
    regional = Caller(subject="r", role="regional", province="34")
    with pytest.raises(Forbidden):
        await api.redrive(Redrive(all=True), deps, regional)
