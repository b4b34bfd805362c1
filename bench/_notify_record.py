"""Notify's outcome recording alone (no SMTP, no Kafka): the bench's events turned into
notifications by the real consumer (not measured), then every due notification recorded as
delivered by ``handlers.record_outcomes`` in the dispatcher's unit of work, in batches of
``--batch`` (the dispatcher's ``dispatch_batch`` in the bench). Reports this process's CPU
time per recorded outcome, the best of ``--rounds`` fresh stores (the machine is shared);
``--profile out.prof`` for cProfile of the last round's recording:

    python -m bench._notify_record [--events 6000] [--batch 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from pathlib import Path

from bench._notify_alone import _Runtime
from bench.common import embedded_clients
from bench.notify import _event
from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store.sqlite import SqliteStore
from services.notify import consumers, handlers, queries
from services.notify.bootstrap import bootstrap
from services.notify.commands import SendOutcome
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS
from tests.support.records import Record


async def once(events: int, batch: int, profile: str | None) -> float:
    """CPU seconds per outcome recorded, one fresh store."""
    records = [Record(ENTERPRISE_TOPIC, i % 3, i, *_event(i)) for i in range(events)]
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        store = SqliteStore(workdir / "record.db")
        await store.open([*COLLECTIONS, *INBOX_COLLECTIONS, *OUTBOX_COLLECTIONS])
        deps = bootstrap(store, Outbox("notify"), NotifySettings(data_dir=workdir))
        consumer = consumers.build_consumer(deps, _Runtime())  # type: ignore[arg-type]
        for start in range(0, len(records), 1000):
            await consumer.process(records[start : start + 1000])
        work = await deps.units.read(queries.due, 10 * events, None)
        outcomes = [SendOutcome(n) for n in work.notifications if n.channel == "email"]
        policy = deps.dispatcher.policy
        profiler = cProfile.Profile(time.process_time) if profile else None
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        for start in range(0, len(outcomes), batch):
            await deps.units.run(handlers.record_outcomes, outcomes[start : start + batch], policy)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu = time.process_time() - cpu
        async with store.transaction() as tx:
            recorded = await tx.count("deliveries")
        await store.close()
    assert recorded == len(outcomes), (recorded, len(outcomes))
    return cpu / len(outcomes)


async def run(events: int, batch: int, rounds: int, profile: str | None) -> None:
    spent = [await once(events, batch, profile) for _ in range(rounds)]
    figures = ", ".join(f"{s * 1e6:.1f}" for s in spent)
    print(f"record_outcomes, batches of {batch}: cpu {min(spent) * 1e6:.1f} us/outcome ({figures})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.batch, args.rounds, args.profile))


if __name__ == "__main__":
    embedded_clients()
    main()
