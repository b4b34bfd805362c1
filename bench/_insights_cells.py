"""What writing insights' count cells costs in SQLite, per cell, in the store's layout (a JSON
document, an expression index of 7 ``json_extract`` and one of 3) inserted as new documents
or upserted with ``add_counts``' statement (the delta added in the JSON, no read first),
against a table of real columns, and against one keyed by the cell itself with an upsert
that adds the delta. The cells are those the bench's event mix touches, batch by batch
(``bench/_insights_alone.py``'s batches of 5,000): first each new cell written once, then
every touched cell (new or not) through the upserts:

    python -m bench._insights_cells

Raw ``sqlite3`` here, but for the last line: the store's own ``add_counts`` on ``counts`` as
the service declares it, a counter collection (since session 19 the keyed layout above, plus
the trigger deleting cells set to 0; docs/performance.md, "Insights consumers")."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import _insights_alone
from ikmkit.store.sqlite import SqliteStore
from ikmkit.store.sqlite_sql import add_count_sql
from services.insights.domain.tally import CELL_FIELDS, CellKey, Tally, cell_document
from services.insights.store import COLLECTIONS, COUNTS, CountRepository

FIELDS = ("indicator", "dimension", "fiscal_year", "month", "province", "regency", "value")
INSERT_DOC = "INSERT INTO t (id, version, doc) VALUES (?, 1, ?)"
DOC_TABLE = [
    "CREATE TABLE t (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)",
    "CREATE INDEX i1 ON t ({})".format(",".join(f"json_extract(doc,'$.{f}')" for f in FIELDS)),
    "CREATE INDEX i2 ON t (json_extract(doc,'$.indicator'), json_extract(doc,'$.province'),"
    " json_extract(doc,'$.fiscal_year'))",
]
COLUMNS = "indicator TEXT, fiscal_year INT, month INT, province TEXT, regency TEXT, dimension TEXT"
COLUMN_TABLE = [
    f"CREATE TABLE t (id TEXT PRIMARY KEY, {COLUMNS}, value INT, version INT)",
    f"CREATE INDEX i1 ON t ({', '.join(FIELDS)})",
    "CREATE INDEX i2 ON t (indicator, province, fiscal_year)",
]
KEYED_TABLE = [
    f"CREATE TABLE t ({COLUMNS}, value INT, version INT, PRIMARY KEY"
    " (indicator, dimension, fiscal_year, month, province, regency)) WITHOUT ROWID",
    "CREATE INDEX i2 ON t (indicator, province, fiscal_year)",
]
DOC_UPSERT = add_count_sql("t", "value")
UPSERT = (
    "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO UPDATE"
    " SET value = value + excluded.value, version = version + 1"
)

type Rows = Callable[[list[tuple[CellKey, int]]], list[tuple[Any, ...]]]


def _documents(cells: list[tuple[CellKey, int]]) -> list[tuple[Any, ...]]:
    return [
        (doc["id"], orjson.dumps({**doc, "version": 1}).decode())
        for doc in (cell_document(key, value) for key, value in cells)
    ]


def _upserted_documents(cells: list[tuple[CellKey, int]]) -> list[tuple[Any, ...]]:
    return [(*row, value) for row, (_, value) in zip(_documents(cells), cells, strict=True)]


def _columns(cells: list[tuple[CellKey, int]]) -> list[tuple[Any, ...]]:
    return [(cell_document(key, value)["id"], *key, value, 1) for key, value in cells]


def _keyed(cells: list[tuple[CellKey, int]]) -> list[tuple[Any, ...]]:
    return [(*key, value) for key, value in cells]


def measure(
    label: str, ddl: list[str], rows: Rows, sql: str, batches: list[Any], every: bool = False
) -> None:
    """CPU per cell of writing each batch's new cells (``every``: all its touched cells)."""
    with tempfile.TemporaryDirectory() as workdir:
        conn = sqlite3.connect(Path(workdir) / "cells.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        for statement in ddl:
            conn.execute(statement)
        seen: set[CellKey] = set()
        cpu, written = 0.0, 0
        for batch in batches:
            fresh = batch if every else [(k, v) for k, v in batch if k not in seen]
            seen.update(k for k, _ in fresh)
            started = time.process_time()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows(fresh))
            conn.execute("COMMIT")
            cpu += time.process_time() - started
            written += len(fresh)
        conn.close()
    what = "touched" if every else "new"
    print(f"{label}: {cpu / written * 1e6:.2f} us per {what} cell ({written:,} cells)")


async def measure_store(batches: list[list[tuple[CellKey, int]]]) -> None:
    """The store's own ``add_counts`` (upsert, then the delete of cells back at 0) on the
    ``counts`` collection as the service declares it, every touched cell of each batch."""
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(Path(workdir) / "cells.db")
        await store.open([spec for spec in COLLECTIONS if spec.name == COUNTS])
        cpu, written = 0.0, 0
        for batch in batches:
            cells = [(dict(zip(CELL_FIELDS, key, strict=True)), delta) for key, delta in batch]
            started = time.process_time()
            async with store.transaction() as tx:
                await tx.add_counts(COUNTS, "value", cells)
            cpu += time.process_time() - started
            written += len(cells)
        await store.close()
    print(f"store add_counts: {cpu / written * 1e6:.2f} us per touched cell ({written:,} cells)")


def touched_cells() -> list[list[tuple[CellKey, int]]]:
    """Each batch's cells, as the real consumer counts them (``_insights_alone``'s run)."""
    batches: list[list[tuple[CellKey, int]]] = []
    apply = CountRepository.apply

    async def recorded(self: CountRepository, tally: Tally) -> None:
        batches.append([(key, delta) for key, delta in tally.sums.items() if delta])
        await apply(self, tally)

    CountRepository.apply = recorded  # type: ignore[method-assign]
    try:
        asyncio.run(_insights_alone.run(5000, None))
    finally:
        CountRepository.apply = apply  # type: ignore[method-assign]
    return batches


def main() -> None:
    batches = touched_cells()
    measure("JSON documents, 2 expression indexes", DOC_TABLE, _documents, INSERT_DOC, batches)
    columns_insert = "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    measure("real columns, same 2 indexes", COLUMN_TABLE, _columns, columns_insert, batches)
    measure(
        "JSON documents, add_counts upsert", DOC_TABLE, _upserted_documents, DOC_UPSERT, batches
    )
    measure("keyed by the cell, upsert (no read)", KEYED_TABLE, _keyed, UPSERT, batches)
    for label, ddl, rows, sql in (
        ("JSON documents, add_counts upsert", DOC_TABLE, _upserted_documents, DOC_UPSERT),
        ("keyed by the cell, upsert", KEYED_TABLE, _keyed, UPSERT),
    ):
        measure(label, ddl, rows, sql, batches, every=True)
    asyncio.run(measure_store(batches))


if __name__ == "__main__":
    main()
