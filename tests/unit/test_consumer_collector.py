"""The cyclic garbage collector is paused while a batch is decoded and handled together, and
only then: it runs again when the batch ends (raised or not), during the one-by-one fallback
(whose retries sleep), and a collector someone else turned off is left off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import Outbox
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import UnitOfWork, Units
from tests.support.consumer_records import record
from tests.support.records import NoDeadLetters


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


async def consume(tmp_path: Path, n: int, *, fail_batch: bool) -> tuple[dict[str, list[bool]], int]:
    """Runs ``n`` records through a batch consumer; whether the collector ran in each call."""
    store = SqliteStore(tmp_path / "gc.db")
    await store.open([*INBOX_COLLECTIONS])
    consumer = EventConsumer(
        group="gc-test",
        units=Units(store, Outbox("registry"), UnitOfWork),
        dead_letters=NoDeadLetters(),  # type: ignore[arg-type]
    )
    seen: dict[str, list[bool]] = {"one": [], "many": []}

    @consumer.handles(EnterpriseRegistered)
    async def one(event: Any, meta: EnvelopeAttributes, uow: UnitOfWork) -> None:
        seen["one"].append(gc.isenabled())

    @consumer.handles_batch
    async def many(items: list[tuple[Any, EnvelopeAttributes]], uow: UnitOfWork) -> None:
        seen["many"].append(gc.isenabled())
        if fail_batch:
            raise RuntimeError("the batch fails")

    await consumer.process([record(i) for i in range(n)])
    async with store.transaction() as tx:
        done = await tx.count(INBOX)
    await store.close()
    return seen, done


async def test_a_batch_runs_without_the_collector_which_runs_again_after(tmp_path: Path) -> None:
    gc.enable()
    seen, done = await consume(tmp_path, 3, fail_batch=False)
    assert seen == {"one": [], "many": [False]} and done == 3
    assert gc.isenabled()


async def test_a_failed_batch_falls_back_one_by_one_with_the_collector_on(tmp_path: Path) -> None:
    gc.enable()
    seen, done = await consume(tmp_path, 3, fail_batch=True)
    assert seen == {"one": [True, True, True], "many": [False]} and done == 3
    assert gc.isenabled()


async def test_a_collector_turned_off_elsewhere_stays_off(tmp_path: Path) -> None:
    gc.disable()
    seen, done = await consume(tmp_path, 3, fail_batch=False)
    assert seen == {"one": [], "many": [False]} and done == 3
    assert not gc.isenabled()
