"""The ``counts`` cells as a counter collection on SQLite (issue #13, "Speed"): real columns
keyed in the order the dashboard reads them, and an insights database written in the
layout before (JSON documents) moved into it when the service opens its store, unchanged."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import CollectionSpec
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.insights.store import COLLECTIONS, COUNTS, InsightsUnit
from tests.support.insights_feed import Feed, enrolled, registered

BEFORE = [
    CollectionSpec(
        COUNTS,
        indexes=[
            ("indicator", "dimension", "fiscal_year", "month", "province", "regency", "value"),
            ("indicator", "province", "fiscal_year"),
        ],
    ),
    *(spec for spec in COLLECTIONS if spec.name != COUNTS),
]
"""The insights collections as they were declared before ``counts`` was a counter collection."""


async def _counted(path: Path, specs: Sequence[CollectionSpec], *events: Any) -> list[Any]:
    store = SqliteStore(path)
    await store.open([*specs, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    try:
        await Feed(Units(store, Outbox("urn:ikm:test"), InsightsUnit)).batch(*events)
        async with store.transaction() as tx:
            page = await tx.find(COUNTS, limit=10_000, order_by=[("id", 1)])
        return page.items
    finally:
        await store.close()


async def test_an_insights_store_of_json_cells_is_moved_into_columns_unchanged(
    tmp_path: Path,
) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    first = await _counted(new, COLLECTIONS, *(registered(f"91200{n:08d}") for n in range(3)))
    written = SqliteStore(old)  # the same cells, as the JSON documents of the old layout
    await written.open(BEFORE)
    async with written.transaction() as tx:
        await tx.insert_many(COUNTS, first)
    await written.close()
    then = [enrolled(n) for n in range(2)]
    moved = await _counted(old, COLLECTIONS, *then)
    fresh = await _counted(new, COLLECTIONS, *then)
    assert moved == fresh
    assert len(moved) > 10
    conn = sqlite3.connect(old)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert '"c_counts_documents"' not in tables and "c_counts_documents" not in tables
    assert not any(name.startswith("ix_counts_") for name in tables)


def _plan(conn: sqlite3.Connection, sql: str) -> str:
    return " | ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))


async def test_the_dashboards_reads_are_answered_from_the_cells_key(tmp_path: Path) -> None:
    await _counted(tmp_path / "i.db", COLLECTIONS, *(registered(f"91200{n:08d}") for n in range(3)))
    conn = sqlite3.connect(tmp_path / "i.db")
    columns = [row[1] for row in conn.execute('PRAGMA table_info("c_counts")')]
    series = _plan(
        conn,
        'SELECT fiscal_year, month, province, TOTAL("value") FROM "c_counts"'
        " WHERE indicator = 'x' AND dimension = '-' AND fiscal_year >= 2025"
        " GROUP BY fiscal_year, month, province",
    )
    conn.close()
    assert columns == [
        *("indicator", "fiscal_year", "month", "province", "regency", "dimension"),
        *("value", "version"),
    ]
    assert "USING PRIMARY KEY (indicator=? AND dimension=? AND fiscal_year>?)" in series
    assert "TEMP B-TREE" not in series
