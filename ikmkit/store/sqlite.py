"""SQLite adapter of the store port: one database file per service, WAL mode.

Each collection is a table of one of three shapes: ``(id, version, doc)`` holding the JSON
document, with expression indexes on ``json_extract`` (``sqlite_counters.DocumentTable``);
a counter collection's fields as columns (``CounterTable``); or chosen fields as columns
beside the document, with partial indexes (``sqlite_columns.ColumnTable``). A unit of work's
reads and writes are ``sqlite_transaction``'s. Transactions are serialized by an asyncio
lock on the single writer connection (``BEGIN IMMEDIATE``), which is what SQLite allows
anyway, and queued ones commit together (``sqlite_group``); statements are microseconds,
so they run on the event loop without threads. WAL checkpoints, which fsync, run on a
thread of their own (``sqlite_checkpoint``).

The file records the layout it was written in (``PRAGMA user_version``, ``LAYOUT``). Code
refuses a file of a newer layout (a rollback without the backup would misread it), and a
store opened with ``migrate=False`` (the CLI's) refuses one its release has not migrated
yet, rather than migrate it underneath the older service still running on it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from ikmkit.store.port import CollectionSpec, StoreError, Transaction
from ikmkit.store.sqlite_checkpoint import Checkpointer
from ikmkit.store.sqlite_columns import ColumnTable
from ikmkit.store.sqlite_counters import DOCUMENTS, CounterTable
from ikmkit.store.sqlite_group import GroupCommit
from ikmkit.store.sqlite_times import fix_times
from ikmkit.store.sqlite_transaction import SqliteTransaction

# The layout this code writes; raise it with every change that migrates files at open.
# 1: session 21's (outbox and inbox, registry, notify as columns and keyed tables).
# 2: declared times rewritten in the fixed-width form (``sqlite_times``), counter ids escaped.
LAYOUT = 2


class SqliteStore:
    """Store port over one SQLite database file (``:memory:`` for tests)."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self._path = str(path)
        self._migrate = migrate
        self._conn: sqlite3.Connection | None = None
        self._groups = GroupCommit(self._connection)
        self._specs: dict[str, CollectionSpec] = {}
        self._counters: dict[str, CounterTable] = {}
        self._columned: dict[str, ColumnTable] = {}
        self._checkpointer: Checkpointer | None = None

    async def open(self, collections: Sequence[CollectionSpec]) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA cache_size=-65536")
        try:
            found = self._checked_layout(conn)
        except StoreError:
            conn.close()
            raise
        if self._path != ":memory:":  # checkpoints on a thread, not inside a request's COMMIT
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = Checkpointer(self._path)
            self._checkpointer.start()
        self._conn = conn
        for spec in collections:
            self._create(conn, spec)
        if found != LAYOUT:
            conn.execute(f"PRAGMA user_version={LAYOUT}")

    def _checked_layout(self, conn: sqlite3.Connection) -> int:
        found: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > LAYOUT:
            raise StoreError(
                f"{self._path} is laid out by a newer release (layout {found}, this code's"
                f" {LAYOUT}): run that release, or restore the backup taken before upgrading"
            )
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        if found < LAYOUT and not self._migrate and tables.fetchone()[0]:
            raise StoreError(
                f"{self._path} is not in this release's layout yet (layout {found}, this"
                f" code's {LAYOUT}): stop the service still running the old release, start"
                " this release's service (it migrates the file when it opens it), then retry"
            )
        return found

    def _create(self, conn: sqlite3.Connection, spec: CollectionSpec) -> None:
        self._specs[spec.name] = spec
        if spec.counter is not None:
            self._counters[spec.name] = CounterTable.created(conn, spec, spec.counter)
            return
        if spec.columns is not None:
            self._columned[spec.name] = table = ColumnTable(spec.name, spec.columns)
            table.create(conn, spec)
            fix_times(conn, spec, table.column, frozenset(table.fields))
            return
        DOCUMENTS.create(conn, spec)
        fix_times(conn, spec, DOCUMENTS.column)

    async def close(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        if self._conn is not None:
            self._groups.close()
            self._conn.close()
            self._conn = None

    async def ping(self) -> None:
        self._connection().execute("SELECT 1").fetchone()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("store is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Transaction]:
        """One unit of work, alone on the writer; queued ones share a commit (group commit,
        ``sqlite_group``); the block exits once its writes are committed. A query
        (``read_only``) does not join a group: waiting for the units queued behind it would
        make every concurrent request as slow as all of them together."""
        self._connection()
        turn = self._groups.alone() if read_only else self._groups.unit()
        async with turn as conn:
            yield SqliteTransaction(conn, self._specs, self._counters, self._columned)
