"""The insights consumer alone (no Kafka): the bench's event mix, enveloped as the relay does,
fed to the real ``EventConsumer`` (batch path, as ``main.py`` wires it) in batches of
``max_records`` on a SQLite file. For profiling the consumer phase of ``bench/insights.py``:

    python -m bench._insights_alone [--profile out.prof] [--batch 5000] [--stages]

(``--stages``: the CPU per event of each stage, without a profiler: ``bench/_insights_stages.py``.)

(``PRAGMAS="wal_autocheckpoint=10000"`` tries SQLite settings on its connection.)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import random
import tempfile
import time
from pathlib import Path

from bench import _insights_stages
from bench._insights_enterprises import Envelopes
from bench._insights_mix import event_mix
from contracts.catalog import events_on
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import Outbox
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.insights.consumers import GROUP, on_batch, on_event
from services.insights.handlers import events as insight_events
from services.insights.store import COLLECTIONS, InsightsUnit
from tests.support.records import NoDeadLetters, Record


async def run(batch: int, profile: str | None) -> int:
    feed = Envelopes()
    records = [
        Record(t, 0, i, k, v, h)
        for i, (t, k, v, h) in enumerate(feed.record(e) for e in event_mix(random.Random(13)))
    ]
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(Path(workdir) / "alone.db")
        await store.open([*COLLECTIONS, *INBOX_COLLECTIONS])
        for pragma in os.environ.get("PRAGMAS", "").split(";"):
            if pragma:
                store._conn.execute("PRAGMA " + pragma)  # type: ignore[union-attr]
        units = Units(store, Outbox("insights"), InsightsUnit)
        consumer = EventConsumer(group=GROUP, units=units, dead_letters=NoDeadLetters())  # type: ignore[arg-type]
        for topic in insight_events.TOPICS:
            for event_type in events_on(topic):
                consumer.handles(event_type)(on_event)
        consumer.handles_batch(on_batch)
        profiler = cProfile.Profile(time.process_time) if profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for start in range(0, len(records), batch):
            await consumer.process(records[start : start + batch])
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        async with store.transaction() as tx:
            done = await tx.count(INBOX)
        await store.close()  # ends the checkpoint thread (--stages: its CPU is counted)
    rate = len(records) / took
    print(
        f"{len(records):,} events ({done:,} processed) in {took:.2f}s: {rate:,.0f} events/s;"
        f" cpu {cpu:.2f}s = {cpu / len(records) * 1e6:.1f} us/event"
    )
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--profile")
    parser.add_argument("--stages", action="store_true")
    args = parser.parse_args()
    if not args.stages:
        asyncio.run(run(args.batch, args.profile))
        return
    with _insights_stages.stages():
        _insights_stages.report(asyncio.run(run(args.batch, args.profile)))


if __name__ == "__main__":
    main()
