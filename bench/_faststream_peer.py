"""The "typical FastStream consumer" the consumer benchmarks compare against (issue #14): a
FastStream subscriber with a per-message handler (FastStream validates the JSON body into
the contract model), one SQLite insert and one commit per event, FastStream's default
acknowledgement. It is given the service store's SQLite settings (WAL, ``synchronous=NORMAL``)
and FastStream's per-message log lines are silenced, so the comparison is about the
consumption mechanism, not durability settings or terminal output.

It stores each event once (``INSERT OR IGNORE`` on the event id: a redelivery has no second
row), so the bench can check that everything counted was stored exactly once.
"""

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

from faststream.kafka import KafkaBroker, KafkaMessage

from contracts.base import Event

TABLE = "events"


async def peer_rate(
    kafka: str, topic: str, model: type[Event], path: Path, count: int, timeout: float = 600
) -> tuple[float, int]:
    """Events/s the peer persists (first to last observation) and the rows it stored."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    quiet = logging.getLogger("bench.peer")
    quiet.setLevel(logging.WARNING)
    broker = KafkaBroker(kafka, logger=quiet)

    @broker.subscriber(topic, group_id="bench-peer", auto_offset_reset="earliest")
    async def handle(event: model, message: KafkaMessage) -> None:  # type: ignore[valid-type]
        conn.execute("BEGIN")
        conn.execute(
            f"INSERT OR IGNORE INTO {TABLE} (id, doc) VALUES (?, ?)",
            (message.headers["ce_id"], event.model_dump_json()),
        )
        conn.execute("COMMIT")

    reader = sqlite3.connect(path)
    first: tuple[float, int] | None = None
    last = (0.0, 0)
    stored = 0
    await broker.start()
    try:
        deadline = time.monotonic() + timeout
        while stored < count and time.monotonic() < deadline:
            stored = reader.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
            now = time.perf_counter()
            if stored and first is None:
                first = (now, stored)
            if stored > last[1]:
                last = (now, stored)
            await asyncio.sleep(0.05)
    finally:
        await broker.stop()
        reader.close()
        conn.close()
    if stored != count or first is None:
        raise RuntimeError(f"peer timed out: {stored} of {count} stored")
    return (last[1] - first[1]) / (last[0] - first[0]), stored
