"""The one write path (``ikmkit.unit_of_work``): a handler's state change and the events the
domain returned commit together; a lost race runs the whole unit again; nothing half-done."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from contracts.notify import NotificationDead
from ikmkit.clock import fixed_clock
from ikmkit.store import CollectionSpec, DuplicateKey, Transaction, VersionConflict
from ikmkit.unit_of_work import Changed, ConflictRetry, UnitOfWork, contended
from tests.support.notify_dead import dead_notification
from tests.support.units import memory_units, recorded_events

COUNTERS = "counters"


class Counter(BaseModel):
    id: str
    value: int = 0
    version: int = 0

    def bump(self) -> Changed[Counter]:
        bumped = self.model_copy(update={"value": self.value + 1})
        return Changed(bumped, (dead(f"{self.id}-{bumped.value}"),))


def dead(notification_id: str) -> NotificationDead:
    return dead_notification(notification_id, dead_at=datetime(2026, 12, 1, tzinfo=UTC))


class CounterUnit(UnitOfWork):
    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.counters = Counters(tx)


class Counters:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, counter_id: str) -> Counter:
        doc = await self._tx.get(COUNTERS, counter_id)
        return Counter(id=counter_id) if doc is None else Counter.model_validate(doc)

    async def save(self, counter: Counter) -> Counter:
        doc = counter.model_dump()
        stored = await (self._tx.insert if counter.version == 0 else self._tx.replace)(
            COUNTERS, doc
        )
        return counter.model_copy(update={"version": stored["version"]})


async def bump(uow: CounterUnit, counter_id: str) -> Counter:
    counter = await uow.counters.get(counter_id)
    return await uow.counters.save(uow.collect(counter.bump()))


async def test_state_and_the_domains_events_commit_together() -> None:
    async with memory_units(CounterUnit, [CollectionSpec(COUNTERS)]) as units:
        counter = await units.run(bump, "c1")
        assert counter.value == 1
        assert [e.notification_id for e in await recorded_events(units)] == ["c1-1"]  # type: ignore[attr-defined]


async def test_a_failing_handler_leaves_neither_state_nor_events() -> None:
    async def bump_then_fail(uow: CounterUnit) -> None:
        await bump(uow, "c1")
        raise RuntimeError("the domain refused after all")

    async with memory_units(CounterUnit, [CollectionSpec(COUNTERS)]) as units:
        with pytest.raises(RuntimeError):
            await units.run(bump_then_fail)
        assert await recorded_events(units) == []
        assert (await units.read(lambda uow: uow.counters.get("c1"))).value == 0


async def test_a_lost_race_runs_the_whole_unit_again() -> None:
    calls = 0

    async def race_once(uow: CounterUnit) -> Counter:
        nonlocal calls
        calls += 1
        counter = await uow.counters.get("c1")
        if calls == 1:
            raise VersionConflict(COUNTERS, "c1", 1)  # as if another writer saved first
        return await uow.counters.save(uow.collect(counter.bump()))

    async with memory_units(CounterUnit, [CollectionSpec(COUNTERS)]) as units:
        assert (await units.run(race_once)).value == 1
        assert calls == 2
        assert len(await recorded_events(units)) == 1  # the lost attempt recorded nothing


async def test_the_default_policy_gives_up_and_a_contended_handler_keeps_going() -> None:
    async def always_conflicts(uow: CounterUnit) -> None:
        raise VersionConflict(COUNTERS, "c1", 1)

    calls = 0

    @contended(max_attempts=20, also=(DuplicateKey,))
    async def claims(uow: CounterUnit) -> int:
        nonlocal calls
        calls += 1
        if calls < 10:
            raise DuplicateKey(COUNTERS, ["id"], "c1")
        return calls

    async with memory_units(CounterUnit, [CollectionSpec(COUNTERS)]) as units:
        units.retry = ConflictRetry(max_attempts=3, base_delay=0)
        with pytest.raises(VersionConflict):
            await units.run(always_conflicts)
        assert await units.run(claims) == 10


async def test_concurrent_units_serialise_without_losing_an_update() -> None:
    async with memory_units(CounterUnit, [CollectionSpec(COUNTERS)]) as units:
        await asyncio.gather(*(units.run(bump, "c1") for _ in range(20)))
        assert (await units.read(lambda uow: uow.counters.get("c1"))).value == 20
        assert len(await recorded_events(units)) == 20


async def test_a_unit_of_work_tells_the_time_of_its_units_clock() -> None:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    async def when(uow: CounterUnit) -> datetime:
        return uow.now

    async with memory_units(CounterUnit) as units:
        units.clock = fixed_clock(at)
        assert await units.run(when) == at
