"""The notify consumer alone (no Kafka, no dispatcher): the bench's ``EnterpriseRegistered``
events, enveloped as the relay does, fed to the real ``EventConsumer`` (batch path, as
``main.py`` wires it) in batches of ``max_records`` on a SQLite file. Reports CPU time per
event (steadier than wall time on a shared machine). For profiling the consumer phase of
``bench/notify.py``:

    python -m bench._notify_alone [--profile out.prof] [--batch 1000] [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from pathlib import Path

from bench.common import embedded_clients
from bench.notify import _event
from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import Outbox
from ikmkit.store.sqlite import SqliteStore
from services.notify import consumers
from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS
from tests.support.records import NoDeadLetters, Record


class _Runtime:
    publisher = NoDeadLetters()


async def run(events: int, batch: int, profile: str | None) -> None:
    records = [Record(ENTERPRISE_TOPIC, i % 3, i, *_event(i)) for i in range(events)]
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(Path(workdir) / "alone.db")
        await store.open([*COLLECTIONS, *INBOX_COLLECTIONS])
        deps = bootstrap(store, Outbox("notify"), NotifySettings(data_dir=Path(workdir)))
        consumer = consumers.build_consumer(deps, _Runtime())  # type: ignore[arg-type]
        profiler = cProfile.Profile(time.process_time) if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for start in range(0, len(records), batch):
            await consumer.process(records[start : start + batch])
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        async with store.transaction() as tx:
            done, made = await tx.count(INBOX), await tx.count("notifications")
        await store.close()
    assert done == events and made == 3 * events, (done, made)
    print(
        f"{events:,} events ({done:,} processed, {made:,} notifications): wall {wall:.2f}s,"
        f" cpu {cpu:.2f}s = {cpu / events * 1e6:.1f} us/event ({events / cpu:,.0f} events/cpu-s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--profile")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.batch, args.profile))


if __name__ == "__main__":
    embedded_clients()
    main()
