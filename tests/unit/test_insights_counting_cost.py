"""What counting a batch costs, in the steps that made the insights consumer slow (issue #13,
"Speed"), and that the cheaper steps write exactly what the dearer ones wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from contracts.registry import EnterpriseSuspended, EnterpriseVerified
from ikmkit.store import Transaction
from ikmkit.store.sqlite_transaction import SqliteTransaction
from ikmkit.unit_of_work import Units
from services.insights import replicas
from services.insights.domain.tally import Tally
from services.insights.handlers.registry import domain_time
from services.insights.replicas import EnterpriseReplica
from services.insights.store import COLLECTIONS, COUNTS, InsightsUnit
from tests.support.insights_feed import MAY, NOW, Feed, enrolled, registered
from tests.support.units import memory_units

JUNE = datetime(2026, 6, 3, 9, tzinfo=UTC)


@pytest.fixture
async def units() -> AsyncIterator[Units[InsightsUnit]]:
    async with memory_units(InsightsUnit, COLLECTIONS) as units:
        yield units


async def _cells(units: Units[InsightsUnit]) -> dict[str, dict[str, Any]]:
    async with units.store.transaction() as tx:
        page = await tx.find(COUNTS, limit=10_000)
    return {doc["id"]: doc for doc in page.items}


async def test_stored_cells_are_not_parsed_to_be_counted_again(
    units: Units[InsightsUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = Feed(units)
    await feed.batch(*(enrolled(n) for n in range(3)))
    first = await _cells(units)
    parsed: list[str] = []
    get_many = SqliteTransaction.get_many

    async def spy(self: Transaction, collection: str, ids: Any) -> Any:
        parsed.append(collection)
        return await get_many(self, collection, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteTransaction, "get_many", spy)
    await feed.batch(*(enrolled(n) for n in range(3, 5)))
    assert COUNTS not in parsed
    after = await _cells(units)
    assert after.keys() == first.keys()
    for cell_id, doc in first.items():  # each cell rewritten whole, its version moved on by 1
        assert after[cell_id] == {**doc, "value": doc["value"] + 2, "version": doc["version"] + 1}


async def test_a_replica_event_makes_one_copy_of_the_replica_at_most(
    units: Units[InsightsUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    copies: list[str] = []
    copy = replicas.updated  # the replicas' copy step (``model_copy`` before session 20)

    def counted(self: EnterpriseReplica, fields: dict[str, Any]) -> EnterpriseReplica:
        copies.append(self.status)
        return copy(self, fields)

    monkeypatch.setattr(replicas, "updated", counted)
    monkeypatch.setattr(EnterpriseReplica, "model_copy", _no_model_copy)
    nib = "1234567890123"
    feed = Feed(units)
    await feed.batch(
        registered(nib),
        EnterpriseVerified(nib=nib, province="32", verified_by="x", verified_at=MAY),
        EnterpriseSuspended(
            nib=nib, province="32", reason="r", suspended_by="x", suspended_at=JUNE
        ),
    )
    assert copies == ["registered", "active"]
    cells = await _cells(units)
    assert cells["enterprises.active|2026|5|32|3273|-"]["value"] == 1
    assert cells["enterprises.active|2026|6|32|3273|-"]["value"] == -1
    assert cells["enterprises.suspended|2026|6|32|3273|-"]["value"] == 1


def _no_model_copy(self: EnterpriseReplica, **kwargs: Any) -> EnterpriseReplica:
    raise AssertionError("a replica is copied by replicas.updated, counted above")


class _Later(BaseModel):
    """An event type of the future: an optional time first, then the time it happened."""

    reviewed_at: datetime | None = None
    note: str = "n"
    happened_at: datetime


class _Timeless(BaseModel):
    note: str = "n"


def test_domain_time_is_the_first_time_field_that_holds_a_time() -> None:
    meta = Feed.meta(Feed(None), registered("1234567890123"))  # type: ignore[arg-type]
    assert domain_time(registered("1234567890123", at=MAY), meta) == MAY
    assert domain_time(_Later(happened_at=JUNE), meta) == JUNE
    assert domain_time(_Later(reviewed_at=MAY, happened_at=JUNE), meta) == MAY
    assert domain_time(_Timeless(), meta) == meta.time == NOW


def test_a_tally_takes_each_time_for_its_own_month() -> None:
    tally = Tally()
    for at in (MAY, JUNE, MAY, date(2026, 1, 31), datetime(2026, 1, 31, 18, tzinfo=UTC)):
        tally.add("x", at, "32")
    assert sorted((k[1], k[2], d) for k, d in tally.sums.items()) == [
        (2026, 1, 1),
        (2026, 2, 1),  # 01:00 WIB on 1 February
        (2026, 5, 2),
        (2026, 6, 1),
    ]


async def test_a_batch_adds_to_its_cells_without_reading_them(
    units: Units[InsightsUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = Feed(units)
    await feed.batch(*(enrolled(n) for n in range(3)))
    first = await _cells(units)
    reads: list[str] = []
    for name in ("get", "get_many", "group", "find", "count"):
        real = getattr(SqliteTransaction, name)

        def spy(
            self: Transaction, collection: str, *args: Any, _real: Any = real, **kw: Any
        ) -> Any:
            reads.append(collection)
            return _real(self, collection, *args, **kw)

        monkeypatch.setattr(SqliteTransaction, name, spy)
    await feed.batch(*(enrolled(n) for n in range(3, 5)))
    assert COUNTS not in reads
    monkeypatch.undo()
    after = await _cells(units)
    assert after.keys() == first.keys()
    for cell_id, doc in first.items():
        assert after[cell_id] == {**doc, "value": doc["value"] + 2, "version": doc["version"] + 1}
