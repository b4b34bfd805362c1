"""The "typical FastStream consumer" the consumer benchmarks compare against (issue #14): a
FastStream subscriber with a per-message handler (FastStream validates the JSON body into
the contract model), one SQLite insert and one commit per event, FastStream's default
acknowledgement. It is given the service store's SQLite settings (WAL, ``synchronous=NORMAL``)
and FastStream's per-message log lines are silenced, so the comparison is about the
consumption mechanism, not durability settings or terminal output.

It stores each event once (``INSERT OR IGNORE`` on the event id: a redelivery has no second
row), so the bench can check that everything counted was stored exactly once. It reads that
id from the message's headers through a ``message: KafkaMessage`` parameter, FastStream's
documented way, which FastDepends resolves on a worker thread for every message (session 27,
docs/performance.md, Latency). ``message_param=False`` is the same peer without it, keyed by
a hash of the body instead: a diagnostic of what that hop costs the peer.
"""

import asyncio
import hashlib
import logging
import sqlite3
import time
from pathlib import Path

from faststream.kafka import KafkaBroker, KafkaMessage

from contracts.base import Event

TABLE = "events"


async def peer_rate(
    kafka: str,
    topic: str,
    model: type[Event],
    path: Path,
    count: int,
    timeout: float = 600,
    *,
    message_param: bool = True,
) -> tuple[float, int]:
    """Events/s the peer persists (first to last observation) and the rows it stored."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    quiet = logging.getLogger("bench.peer")
    quiet.setLevel(logging.WARNING)
    broker = KafkaBroker(kafka, logger=quiet)

    def store(event_id: str, doc: str) -> None:
        conn.execute("BEGIN")
        conn.execute(f"INSERT OR IGNORE INTO {TABLE} (id, doc) VALUES (?, ?)", (event_id, doc))
        conn.execute("COMMIT")

    group = "bench-peer" if message_param else "bench-peer-lean"
    subscriber = broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
    if message_param:

        @subscriber
        async def handle(event: model, message: KafkaMessage) -> None:  # type: ignore[valid-type]
            store(message.headers["ce_id"], event.model_dump_json())

    else:

        @subscriber
        async def handle_lean(event: model) -> None:  # type: ignore[valid-type]
            doc = event.model_dump_json()
            store(hashlib.sha256(doc.encode()).hexdigest(), doc)

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
