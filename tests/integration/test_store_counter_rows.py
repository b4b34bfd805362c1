"""``Transaction.add_count_rows``: counters given as rows (their fields in ``Counters.fields``'
order, then the delta) have the effects ``add_counts`` has, on every store adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ikmkit.store import CollectionSpec, Counters, Store, StoreError

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
