"""The inbox alone: ``inbox.unprocessed`` then ``inbox.mark_processed`` for batches of fresh
ids, as the consumer's batch path calls them, on a SQLite file; CPU per event id.

    python -m bench._insights_inbox [--events 25000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ikmkit.messaging import inbox
from ikmkit.store.sqlite import SqliteStore

ORDER: Any = sorted if os.environ.get("UNSORTED") is None else list


async def run(events: int, batch: int) -> None:
    ids = [str(uuid.uuid4()) for _ in range(events)]
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(Path(workdir) / "inbox.db")
        await store.open(list(inbox.INBOX_COLLECTIONS))
        spent = {"check": 0.0, "record": 0.0, "commit": 0.0}
        for start in range(0, events, batch):
            chunk = ids[start : start + batch]
            async with store.transaction() as tx:
                began = time.process_time()
                fresh = await inbox.unprocessed(tx, "insights", chunk)
                checked = time.process_time()
                await inbox.mark_processed(tx, "insights", ORDER(fresh))
                done = time.process_time()
                spent["check"] += checked - began
                spent["record"] += done - checked
            spent["commit"] += time.process_time() - done
        async with store.transaction() as tx:
            assert await inbox.unprocessed(tx, "insights", ids[:1000]) == set()
            stored = await tx.count(inbox.INBOX)
        await store.close()
    per = {k: v / events * 1e6 for k, v in spent.items()}
    print(
        f"{stored:,} ids: check {per['check']:.2f}, record {per['record']:.2f},"
        f" commit {per['commit']:.2f} us per event"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=25_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.batch))


if __name__ == "__main__":
    main()
