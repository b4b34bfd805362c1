"""The store lease that lets one replica at a time relay or dispatch (``ikmkit.lease``): one
holder, renewed while it works, handed back on a stop, taken over once it runs out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ikmkit.lease import Lease
from ikmkit.store import CollectionSpec
from ikmkit.store.sqlite import SqliteStore


async def test_one_holder_a_handover_on_release_and_a_takeover_once_it_runs_out(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "lease.db")
    await store.open([CollectionSpec("leases")])
    first, second = (Lease(store, "leases", "work", seconds=0.4) for _ in range(2))
    try:
        assert await first.held() and first.gained
        assert not await second.held() and not second.gained
        assert await first.held() and not first.gained  # still ours, nothing written
        await first.release()
        assert await second.held() and second.gained  # handed over at once
        assert not await first.held()
        await asyncio.sleep(0.45)  # the holder died: nobody renews
        assert await first.held() and first.gained
    finally:
        await store.close()


async def test_work_longer_than_the_lease_keeps_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "lease.db")
    await store.open([CollectionSpec("leases")])
    holder, other = (Lease(store, "leases", "work", seconds=0.2) for _ in range(2))
    try:
        assert await holder.held()
        tried: list[bool] = []

        async def long_work() -> str:
            for _ in range(6):  # 0.6 s: three leases long
                await asyncio.sleep(0.1)
                tried.append(await other.held())
            return "done"

        keeping = asyncio.create_task(holder.keep())
        assert await long_work() == "done"
        keeping.cancel()
        assert tried == [False] * 6
    finally:
        await store.close()
