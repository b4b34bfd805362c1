"""Group commit for the SQLite store: concurrent units of work share one transaction.

The store runs one transaction at a time (one writer connection, an asyncio lock). A
``COMMIT`` costs about a tenth of a registration's CPU (the WAL append of every page the
transaction dirtied), so a unit of work leaves its transaction open for the units that come
in the same pass of the event loop (or are queued for the lock): each runs in a
``SAVEPOINT`` of it, and one ``COMMIT`` (at the end of the pass, or at the ``max_units``-th)
ends them all. Each unit stays atomic (a failed one is rolled back to its savepoint, the
others keep theirs) and is answered only once the group's ``COMMIT`` returned: its
``transaction()`` block does not exit before, and raises if that commit failed. So no
caller, reader or relay acts on a write that is not committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ikmkit.store.port import StoreError

MAX_UNITS = 64
"""Units of work per group at most (bounds how long the first one waits for its commit)."""


class _Group:
    def __init__(self) -> None:
        self.units = 0
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.commit_due = False


class GroupCommit:
    """Serializes transactions on ``conn`` and commits queued ones together."""

    def __init__(self, conn: Callable[[], sqlite3.Connection], max_units: int = MAX_UNITS) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._waiting = 0  # units queued for the lock
        self._group: _Group | None = None
        self.max_units = max_units

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[sqlite3.Connection]:
        """One unit of work: its block runs alone on the connection, inside a savepoint;
        the block's exit waits for the commit that made its writes durable."""
        await self._acquire()
        try:
            conn = self._conn()
            group = self._join(conn)
            conn.execute("SAVEPOINT unit")
            try:
                yield conn
            except BaseException:
                self._undo(conn, group)
                raise
            conn.execute("RELEASE unit")
            group.units += 1
            self._end_unit(conn, group)
        finally:
            self._lock.release()
        # Shielded: a cancelled caller must not leave the group's future unobserved.
        await asyncio.shield(group.committed)

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[sqlite3.Connection]:
        """A transaction of its own, for a query: it commits the open group first (whose
        units have all run), so it reads only committed writes, and answers without waiting
        for the units queued behind it."""
        await self._acquire()
        try:
            conn = self._conn()
            if self._group is not None:
                self._commit(conn, self._group)
            conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._lock.release()

    async def _acquire(self) -> None:
        self._waiting += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._waiting -= 1
            self._commit_if_idle()  # it was the one the open group waited for
            raise
        self._waiting -= 1

    def _join(self, conn: sqlite3.Connection) -> _Group:
        if self._group is None:
            conn.execute("BEGIN IMMEDIATE")
            self._group = _Group()
        return self._group

    def _undo(self, conn: sqlite3.Connection, group: _Group) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            self._end_unit(conn, group)
        else:  # SQLite rolled the whole transaction back (I/O error, disk full)
            self._group = None
            group.committed.set_exception(StoreError("the transaction was rolled back"))
            group.committed.exception()  # observed here; each unit raises it when it waits

    def _end_unit(self, conn: sqlite3.Connection, group: _Group) -> None:
        if group.units >= self.max_units:
            self._commit(conn, group)
        elif self._waiting == 0 and not group.commit_due:
            # Nobody queued: commit once the requests the loop is running in this pass had
            # their turn (a handler holds the lock without yielding, so concurrent units
            # meet here, not in the queue); one loop pass of latency, never a timer.
            group.commit_due = True
            asyncio.get_running_loop().call_soon(self._commit_if_idle)

    def _commit_if_idle(self) -> None:
        group = self._group
        if group is None:
            return
        group.commit_due = False
        if self._waiting == 0 and not self._lock.locked():
            self._commit(self._conn(), group)
        # else: the unit holding or awaiting the lock ends the group (``_end_unit``)

    def close(self) -> None:
        """Commit the open group, if any (the store is closing)."""
        if self._group is not None and not self._lock.locked():
            self._commit(self._conn(), self._group)

    def _commit(self, conn: sqlite3.Connection, group: _Group) -> None:
        self._group = None
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            group.committed.set_exception(StoreError(f"commit failed: {exc}"))
            group.committed.exception()
            return
        group.committed.set_result(None)
