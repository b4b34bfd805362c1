"""Subsidy's and training's consumers alone (no Kafka) on the scale run's events: the bench's
enterprise rows (``bench/_enterprises.py``: one in ten with a marketplace store, one in three
in a campaign) imported through the registry's real import handler, its outbox rows turned
into Kafka records as the relay does (``row_message``), then fed to each service's real
``EventConsumer`` (``build_consumer``, the batch path ``main.py`` wires) in batches of
``--batch`` on a SQLite file. Prints CPU time per event for each tenth of the stream, so a
cost that grows with the replica shows:

    python -m bench._subsidy_alone [--rows 20000] [--batch 500] [--profile subsidy.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._enterprises import enterprise_import_rows
from bench._import_handler import MINISTRY
from bench._replicas_alone import _subsidy, _training
from contracts.topics import source_of
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox, row_message
from ikmkit.store.port import OrderBy
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.registry.commands import ImportEnterprises
from services.registry.handlers.imports import import_enterprises
from services.registry.store import COLLECTIONS as REGISTRY_COLLECTIONS
from services.registry.store import RegistryUnit
from services.subsidy.store import COLLECTIONS as SUBSIDY_COLLECTIONS
from services.training.store import COLLECTIONS as TRAINING_COLLECTIONS
from tests.support.records import Record

IMPORT_BATCH = 1000
ORDER: OrderBy = [("created_ns", 1), ("sequence", 1)]
"""The relay's publishing order."""


async def registry_records(rows: int, workdir: Path) -> list[Record]:
    """The enterprise topic's records for ``rows`` imported enterprises, in outbox order."""
    store = SqliteStore(workdir / "registry.db")
    await store.open([*REGISTRY_COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    units = Units(store, Outbox(source_of("registry")), RegistryUnit)
    data = enterprise_import_rows(rows)
    for start in range(0, rows, IMPORT_BATCH):
        cmd = ImportEnterprises.model_validate({"rows": data[start : start + IMPORT_BATCH]})
        await units.run(import_enterprises, cmd, MINISTRY)
    outbox: list[dict[str, Any]] = []
    cursor: str | None = None
    async with store.transaction(read_only=True) as tx:
        while True:
            page = await tx.find(OUTBOX, order_by=ORDER, limit=5000, cursor=cursor)
            outbox += page.items
            if (cursor := page.next_cursor) is None:
                break
    await store.close()
    messages = [row_message(row) for row in outbox]
    return [Record(m.topic, 0, i, m.key, m.value, list(m.headers)) for i, m in enumerate(messages)]


async def consume(
    collections: Sequence[Any], build: Callable[[Any], Any], records: list[Record], batch: int,
    path: Path, profiler: cProfile.Profile | None = None,
) -> list[float]:  # fmt: skip
    """CPU seconds per event of each tenth of ``records``, fed in batches of ``batch``."""
    store = SqliteStore(path)
    await store.open([*collections, *INBOX_COLLECTIONS])
    consumer = build(store)
    tenth = max(batch, len(records) // 10 // batch * batch)
    figures = []
    if profiler:
        profiler.enable()
    for part in range(0, len(records), tenth):
        chunk = records[part : part + tenth]
        cpu = time.process_time()
        for start in range(0, len(chunk), batch):
            await consumer.process(chunk[start : start + batch])
        figures.append((time.process_time() - cpu) / len(chunk))
    if profiler:
        profiler.disable()
    async with store.transaction() as tx:
        done = await tx.count(INBOX)
    await store.close()
    assert done == len(records), (done, len(records))
    return figures


async def run(rows: int, batch: int, profile: str | None, only: str | None) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        records = await registry_records(rows, Path(workdir))
        print(f"{len(records):,} enterprise events for {rows:,} enterprises, batches of {batch}")
        for name, collections, build in (
            ("subsidy", SUBSIDY_COLLECTIONS, _subsidy),
            ("training", TRAINING_COLLECTIONS, _training),
        ):
            if only and name != only:
                continue
            profiler = cProfile.Profile(time.process_time) if profile else None
            path = Path(workdir) / f"{name}.db"
            figures = await consume(collections, build, records, batch, path, profiler)
            if profiler and profile:
                profiler.dump_stats(profile)
            tenths = " ".join(f"{f * 1e6:.0f}" for f in figures)
            mean = sum(figures) / len(figures) * 1e6
            steady = statistics.median(figures) * 1e6  # the process's one-time costs left out
            print(f"{name}: {steady:.1f} us/event (CPU, median tenth), mean {mean:.1f};"
                  f" per tenth of the stream: {tenths}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", help="cProfile (CPU time) of the consumer, to this file")
    parser.add_argument("--only", choices=("subsidy", "training"))
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.batch, args.profile, args.only))


if __name__ == "__main__":
    main()
