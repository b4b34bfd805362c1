"""Counter collections (``CollectionSpec(counter=Counters(...))``) on every store adapter:
the same documents, ids and reads as a collection of documents, whatever the layout (SQLite:
real columns keyed by the fields; MongoDB: documents and an index)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ikmkit.store import CollectionSpec, Counters, DuplicateKey, In, Range, Store, StoreError
from ikmkit.store.sqlite import SqliteStore

CELLS = "cells"
COUNTERS = Counters(fields=("kind", "year", "place"), order=("kind", "place", "year"))
SPECS = [CollectionSpec(CELLS, indexes=[("place", "year")], counter=COUNTERS)]


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(SPECS)
    yield fresh_store


def cell(kind: str, year: int, place: str) -> dict[str, object]:
    return {"kind": kind, "year": year, "place": place}


def stored(kind: str, year: int, place: str, value: int, version: int) -> dict[str, object]:
    return {"id": f"{kind}|{year}|{place}", **cell(kind, year, place), "value": value,
            "version": version}  # fmt: skip


async def test_counters_are_added_read_as_documents_and_dropped_back_at_zero(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.add_counts(
            CELLS, "value", [(cell("a", 2025, "34"), 2), (cell("b", 2025, "11"), -1)]
        )
    async with store.transaction() as uow:
        await uow.add_counts(
            CELLS,
            "value",
            [(cell("a", 2025, "34"), 3), (cell("b", 2025, "11"), 1), (cell("a", 2026, "11"), 1)],
        )
        await uow.add_counts(CELLS, "value", [(cell("c", 2025, "34"), 0)])
    async with store.transaction() as uow:
        every = await uow.find(CELLS, {}, order_by=[("id", 1)])
        one = await uow.get(CELLS, "a|2025|34")
        gone = await uow.get(CELLS, "b|2025|11")
        many = await uow.get_many(CELLS, ["a|2026|11", "b|2025|11"])
    # in the counters' key order (kind, place, year), not by id: the key is what names them
    assert every.items == [stored("a", 2026, "11", 1, 1), stored("a", 2025, "34", 5, 2)]
    assert one == stored("a", 2025, "34", 5, 2)
    assert gone is None
    assert many == {"a|2026|11": stored("a", 2026, "11", 1, 1)}


async def seed(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.add_counts(
            CELLS,
            "value",
            [
                (cell(kind, year, place), year - 2020 + len(place))
                for kind in ("a", "b")
                for year in (2024, 2025, 2026)
                for place in ("11", "34", "340")
            ],
        )


async def test_filters_groups_counts_and_paging_read_the_counters_fields(store: Store) -> None:
    await seed(store)
    async with store.transaction() as uow:
        groups = await uow.group(
            CELLS,
            ["year"],
            {"kind": "a", "place": In(["11", "34"]), "year": Range(gte=2025)},
            sums=["value"],
        )
        counted = await uow.count(CELLS, {"place": Range(gte="34"), "kind": "b"})
        nulls = await uow.count(CELLS, {"place": None})
        pages, cursor = [], None
        while True:
            page = await uow.find(
                CELLS, {"kind": "b"}, order_by=[("value", -1), ("place", 1)], limit=4, cursor=cursor
            )
            pages.append([doc["id"] for doc in page.items])
            cursor = page.next_cursor
            if cursor is None:
                break
    assert sorted((g.key["year"], g.count, g.sums["value"]) for g in groups) == [
        (2025, 2, 14),
        (2026, 2, 16),
    ]
    assert (counted, nulls) == (6, 0)
    assert pages == [
        ["b|2026|340", "b|2026|11", "b|2026|34", "b|2025|340"],
        ["b|2025|11", "b|2025|34", "b|2024|340", "b|2024|11"],
        ["b|2024|34"],
    ]


async def test_inserted_counters_take_their_id_from_their_fields(store: Store) -> None:
    async with store.transaction() as uow:
        first = await uow.insert(CELLS, {**cell("a", 2025, "34"), "value": 4})
        await uow.insert_many(CELLS, [{"id": "b|2025|34", **cell("b", 2025, "34"), "value": 0}])
    assert first == stored("a", 2025, "34", 4, 1)
    with pytest.raises(DuplicateKey):
        async with store.transaction() as uow:
            await uow.insert(CELLS, {**cell("a", 2025, "34"), "value": 1})
    for wrong in (
        {"id": "other", **cell("a", 2024, "34"), "value": 1},
        {**cell("a", 2024, "34"), "value": 1, "note": "not a counter field"},
        {"kind": "a", "year": 2024, "value": 1},
    ):
        with pytest.raises(StoreError):
            async with store.transaction() as uow:
                await uow.insert(CELLS, wrong)
    with pytest.raises(StoreError):
        async with store.transaction() as uow:
            await uow.add_counts(CELLS, "value", [({"kind": "a", "year": 2024, "place": None}, 1)])
    async with store.transaction() as uow:
        assert await uow.delete(CELLS, "b|2025|34")
        every = await uow.find(CELLS, {})
    assert every.items == [stored("a", 2025, "34", 4, 1)]


async def test_sqlite_keeps_counters_in_columns_keyed_by_their_order(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db")
    await store.open(SPECS)
    await seed(store)
    await store.close()
    conn = sqlite3.connect(tmp_path / "c.db")
    columns = [row[1] for row in conn.execute('PRAGMA table_info("c_cells")')]
    key = [row[2] for row in conn.execute('PRAGMA index_info("sqlite_autoindex_c_cells_1")')]
    plan = " ".join(
        str(row[3])
        for row in conn.execute(
            'EXPLAIN QUERY PLAN SELECT year, TOTAL("value") FROM "c_cells"'
            " WHERE kind = 'a' AND place = '34' GROUP BY year"
        )
    )
    conn.close()
    assert columns == ["kind", "year", "place", "value", "version"]
    assert key == ["kind", "place", "year"]
    assert "PRIMARY KEY" in plan and "TEMP B-TREE" not in plan


async def test_sqlite_moves_a_collection_of_documents_into_the_counter_layout(
    tmp_path: Path,
) -> None:
    """A database written before the collection was declared a counter collection."""
    path = tmp_path / "old.db"
    old = SqliteStore(path)
    await old.open([CollectionSpec(CELLS, indexes=[("kind", "place", "year", "value")])])
    async with old.transaction() as uow:
        await uow.add_counts(CELLS, "value", [(stored("a", 2025, "34", 0, 1), 2)])
        await uow.add_counts(CELLS, "value", [(stored("a", 2025, "34", 0, 1), 1)])
        await uow.add_counts(CELLS, "value", [(stored("b", 2024, "11", 0, 1), 1)])
    await old.close()
    store = SqliteStore(path)
    await store.open(SPECS)
    async with store.transaction() as uow:
        await uow.add_counts(CELLS, "value", [(cell("b", 2024, "11"), -1)])
        every = await uow.find(CELLS, {})
    await store.close()
    assert every.items == [stored("a", 2025, "34", 3, 2)]


async def test_sqlite_refuses_document_writes_on_counters(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db")
    await store.open(SPECS)
    await seed(store)
    with pytest.raises(StoreError, match="counter collection"):
        async with store.transaction() as uow:
            await uow.replace(CELLS, stored("a", 2025, "34", 9, 1))
    await store.close()
