"""The subsidy and training replica consumers alone (no Kafka): the registry's enterprise
events of ``bench/insights.py``'s mix (registrations, verifications, marketplace onboardings,
class changes), enveloped as the relay does (one sequence per enterprise), fed to each
service's real ``EventConsumer``: in batches of ``--batch`` (the batch path: one unit of work
per batch) and one record at a time (what a per-message subscriber does). CPU time per event:

    python -m bench._replicas_alone [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._insights_enterprises import Envelopes
from bench._insights_mix import event_mix
from bench.common import embedded_clients
from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import Outbox
from ikmkit.store.sqlite import SqliteStore
from services.subsidy import bootstrap as subsidy_bootstrap
from services.subsidy import consumers as subsidy_consumers
from services.subsidy.settings import SubsidySettings
from services.subsidy.store import COLLECTIONS as SUBSIDY_COLLECTIONS
from services.training import bootstrap as training_bootstrap
from services.training import consumers as training_consumers
from services.training.settings import TrainingSettings
from services.training.store import COLLECTIONS as TRAINING_COLLECTIONS
from tests.support.records import NoDeadLetters, Record


class _Runtime:
    publisher = NoDeadLetters()


def _records() -> list[Record]:
    feed = Envelopes()
    events = [e for e in event_mix(random.Random(13)) if e.TOPIC == ENTERPRISE_TOPIC]
    return [Record(t, 0, i, k, v, h) for i, (t, k, v, h) in enumerate(map(feed.record, events))]


async def _measure(
    name: str, collections: Sequence[Any], build: Callable[[Any], Any], records: list[Record],
    batch: int,
) -> float:  # fmt: skip
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(Path(workdir) / "alone.db")
        await store.open([*collections, *INBOX_COLLECTIONS])
        consumer = build(store)
        cpu = time.process_time()
        for start in range(0, len(records), batch):
            await consumer.process(records[start : start + batch])
        cpu = time.process_time() - cpu
        async with store.transaction() as tx:
            done = await tx.count(INBOX)
        await store.close()
    assert done == len(records), (name, done, len(records))
    return cpu / len(records) * 1e6


def _subsidy(store: SqliteStore) -> Any:
    deps = subsidy_bootstrap.bootstrap(store, Outbox("subsidy"), SubsidySettings())
    return subsidy_consumers.build_consumer(deps, _Runtime())  # type: ignore[arg-type]


def _training(store: SqliteStore) -> Any:
    deps = training_bootstrap.bootstrap(store, Outbox("training"), TrainingSettings())
    return training_consumers.build_consumer(deps, _Runtime())  # type: ignore[arg-type]


async def run(batch: int) -> None:
    records = _records()
    for name, collections, build in (
        ("subsidy", SUBSIDY_COLLECTIONS, _subsidy),
        ("training", TRAINING_COLLECTIONS, _training),
    ):
        one = await _measure(name, collections, build, records, 1)
        many = await _measure(name, collections, build, records, batch)
        print(
            f"{name}: {len(records):,} enterprise events; one by one {one:.1f} us/event,"
            f" batches of {batch} {many:.1f} us/event ({one / many:.1f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=500)
    asyncio.run(run(parser.parse_args().batch))


if __name__ == "__main__":
    embedded_clients()
    main()
