"""``Transaction.add_count_rows``: counters given as rows (their fields in ``Counters.fields``'
order, then the delta) have the effects ``add_counts`` has, on every store adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ikmkit.store import CollectionSpec, Counters, Range, Store, StoreError

CELLS = "cells"
PLAIN = "plain"
SPECS = [
    CollectionSpec(
        CELLS, counter=Counters(fields=("kind", "year", "place"), order=("kind", "place", "year"))
    ),
    CollectionSpec(PLAIN),
]


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(SPECS)
    yield fresh_store


def stored(kind: str, year: int, place: str, value: int, version: int) -> dict[str, object]:
    return {"id": f"{kind}|{year}|{place}", "kind": kind, "year": year, "place": place,
            "value": value, "version": version}  # fmt: skip


async def test_rows_add_insert_skip_zero_and_drop_counters_back_at_zero(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.add_count_rows(CELLS, [("a", 2025, "34", 2), ("b", 2025, "11", -1)])
    async with store.transaction() as uow:
        await uow.add_count_rows(
            CELLS, [("a", 2025, "34", 3), ("b", 2025, "11", 1), ("c", 2025, "34", 0)]
        )
        await uow.add_counts(CELLS, "value", [({"kind": "a", "year": 2026, "place": "11"}, 1)])
    async with store.transaction() as uow:
        every = await uow.find(CELLS, {})
    assert every.items == [stored("a", 2026, "11", 1, 1), stored("a", 2025, "34", 5, 2)]


async def test_rows_commit_with_their_unit_of_work_or_not_at_all(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.add_count_rows(CELLS, [("a", 2025, "34", 1)])
    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.add_count_rows(CELLS, [("a", 2025, "34", 4), ("b", 2025, "34", 1)])
            raise RuntimeError("rolled back")
    async with store.transaction() as uow:
        assert (await uow.find(CELLS, {})).items == [stored("a", 2025, "34", 1, 1)]


async def test_a_row_of_another_width_or_a_plain_collection_is_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        async with store.transaction() as uow:
            await uow.add_count_rows(CELLS, [("a", 2025, 1)])
    with pytest.raises(StoreError):
        async with store.transaction() as uow:
            await uow.add_count_rows(PLAIN, [("a", 1)])
    with pytest.raises(StoreError):
        async with store.transaction() as uow:
            await uow.add_count_rows(CELLS, [("a", 2025, None, 1)])
    async with store.transaction() as uow:
        assert (await uow.find(CELLS, {})).items == []


async def test_counters_no_longer_written_are_deleted_when_the_store_opens(
    fresh_store: Store,
) -> None:
    counters = Counters(fields=("kind", "year", "place"), order=("kind", "place", "year"))
    await fresh_store.open([CollectionSpec(CELLS, counter=counters)])
    async with fresh_store.transaction() as uow:
        rows = [("a", 2025, "34", 2), ("old:x", 2025, "34", 1), ("old:y", 2024, "11", 3)]
        await uow.add_count_rows(CELLS, rows)
    await fresh_store.close()
    dropped = [{"kind": Range(gte="old:", lt="old;")}]
    now = Counters(fields=counters.fields, order=counters.order, dropped=dropped)
    for _ in range(2):  # and again: nothing left to delete
        await fresh_store.open([CollectionSpec(CELLS, counter=now)])
        async with fresh_store.transaction() as uow:
            assert (await uow.find(CELLS, {})).items == [stored("a", 2025, "34", 2, 1)]
        await fresh_store.close()
    await fresh_store.open([CollectionSpec(CELLS, counter=now)])  # for the fixture's drop
