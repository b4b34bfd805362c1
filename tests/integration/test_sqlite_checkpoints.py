"""WAL checkpoints (which fsync) happen on the store's own thread, never inside a COMMIT on
the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ikmkit.store import CollectionSpec
from ikmkit.store.sqlite import SqliteStore


async def test_commits_never_checkpoint_and_the_wal_is_still_checkpointed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    await store.open([CollectionSpec("docs")])
    try:
        conn = store._connection()
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for n in range(300):
            async with store.transaction() as tx:
                await tx.insert("docs", {"id": str(n), "text": "x" * 2000})
        db = tmp_path / "s.db"
        for _ in range(100):  # pages reach the database file only by a checkpoint
            if db.stat().st_size > 300 * 2000:
                break
            await asyncio.sleep(0.05)
        assert db.stat().st_size > 300 * 2000, "the WAL was not checkpointed"
    finally:
        await store.close()
    wal = tmp_path / "s.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed whole at close
