"""The outbox and its relay alone, per event: the document layout against the column layout.

``python -m bench._registry_outbox [N] [--rounds R] [--profile]``: in one process, R rounds,
each layout in turn on a fresh SQLite file: N registrations' events written as the registry
writes them (one unit of work each, 64 at a time, so they group-commit as under load;
``Outbox.add_many``: stream head read and written, envelope, chain hash, outbox row), then
relayed (``OutboxRelay.publish_pending`` until the outbox is empty: page read, send spans,
messages, outcomes recorded) to a publisher that answers at once (no Kafka). Prints the CPU
time (``time.process_time``) per event of each part and each layout; ``--profile`` prints
the cProfile of the column layout's runs. The "documents" layout is the outbox as it was
stored before session 21 (every field in the JSON document, four expression indexes).

``--import``: the same alternation for the CSV import's handler (``bench._import_handler``'s
rows and batches of 1,000, one unit of work each) and then the relay of its events, the
registry's collections in the layout of the same name too: rows per CPU-second of the
handler, and of handler and relay together.
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench._enterprises import enterprise_import_rows
from bench._import_handler import MINISTRY
from contracts.registry import EnterpriseRegistered, OwnerContact
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import (
    OUTBOX_COLLECTIONS,
    Outbox,
    OutgoingMessage,
    PublishResult,
)
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.registry.commands import ImportEnterprises
from services.registry.handlers.imports import import_enterprises
from services.registry.store import COLLECTIONS, RegistryUnit

DOCUMENTS = [dataclasses.replace(spec, columns=None) for spec in OUTBOX_COLLECTIONS]
"""The outbox as it was laid out before session 21: every field in the document, the same
indexes as expressions."""
LAYOUTS = {"documents": DOCUMENTS, "columns": list(OUTBOX_COLLECTIONS)}
REGISTRY = {
    "documents": [dataclasses.replace(spec, columns=None) for spec in COLLECTIONS],
    "columns": list(COLLECTIONS),
}
"""The registry's own collections in each layout (session 21: the enterprises' and tag rows'
indexed fields became columns too)."""
IN_FLIGHT = 64


class Instant:
    """A publisher that lands every message at once, one partition, offsets counting up."""

    def __init__(self) -> None:
        self.offset = 0

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        first = self.offset
        self.offset += len(messages)
        return [
            PublishResult(partition=0, offset=first + i, batch_offset=first)
            for i in range(len(messages))
        ]


def events(start: int, count: int) -> list[EnterpriseRegistered]:
    return [
        EnterpriseRegistered(
            nib=f"{1_000_000_000_000 + i}",
            province="34",
            name=f"CV Uji {i}",
            regency="3471",
            kbli="29300",
            directorate="metal_machinery_electronics_transport",
            size_class="small",
            owner=OwnerContact(name="Siti"),
            registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for i in range(start, start + count)
    ]


async def write(store: SqliteStore, outbox: Outbox, batch: list[EnterpriseRegistered]) -> None:
    async def one(event: EnterpriseRegistered) -> None:
        async with store.transaction() as uow:
            await outbox.add_many(uow, [event])
        outbox.committed()

    for start in range(0, len(batch), IN_FLIGHT):
        await asyncio.gather(*(one(e) for e in batch[start : start + IN_FLIGHT]))


async def relay_all(relay: OutboxRelay) -> None:
    while await relay.publish_pending():
        pass


async def run(
    path: Path, layout: str, count: int, profiler: cProfile.Profile | None
) -> tuple[float, float]:
    store = SqliteStore(path)
    await store.open(LAYOUTS[layout])
    outbox = Outbox("/ikm/registry")
    relay = OutboxRelay(store, Instant(), service="bench")
    try:
        await write(store, outbox, events(0, 500))  # warm up
        await relay_all(relay)
        batch = events(500, count)
        if profiler:
            profiler.enable()
        started = time.process_time()
        await write(store, outbox, batch)
        written = time.process_time()
        await relay_all(relay)
        relayed = time.process_time()
        if profiler:
            profiler.disable()
    finally:
        await store.close()
    return (written - started) / count, (relayed - written) / count


async def import_run(path: Path, layout: str, rows: list[dict[str, object]]) -> tuple[float, float]:
    """CPU seconds of the import's handler over ``rows`` (1,000 a unit), then of the relay."""
    store = SqliteStore(path)
    await store.open([*REGISTRY[layout], *LAYOUTS[layout], *INBOX_COLLECTIONS])
    units = Units(store, Outbox("urn:ikm:bench"), RegistryUnit)
    relay = OutboxRelay(store, Instant(), service="bench")
    try:
        started = time.process_time()
        for start in range(0, len(rows), 1000):
            cmd = ImportEnterprises.model_validate({"rows": rows[start : start + 1000]})
            await units.run(import_enterprises, cmd, MINISTRY)
        handled = time.process_time()
        await relay_all(relay)
        relayed = time.process_time()
    finally:
        await store.close()
    return handled - started, relayed - handled


async def imports(count: int, rounds: int) -> None:
    data = enterprise_import_rows(count + 1000, bad_every=100)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in LAYOUTS}
    with tempfile.TemporaryDirectory() as workdir:
        for name in LAYOUTS:  # warm: imports, caches, pydantic's schemas
            await import_run(Path(workdir) / f"warm-{name}.db", name, data[count:])
        for r in range(rounds):
            for name in LAYOUTS:
                figures[name].append(
                    await import_run(Path(workdir) / f"{name}{r}.db", name, data[:count])
                )
    for name, runs in figures.items():
        handler = ", ".join(f"{count / h:,.0f}" for h, _ in runs)
        both = ", ".join(f"{count / (h + rel):,.0f}" for h, rel in runs)
        print(f"{name:9} rows per CPU-second, handler: {handler}; handler and relay: {both}")


async def main(count: int, rounds: int, profile: bool) -> None:
    profiler = cProfile.Profile(time.process_time) if profile else None
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in LAYOUTS}
    with tempfile.TemporaryDirectory() as workdir:
        for r in range(rounds):
            for name in LAYOUTS:
                path = Path(workdir) / f"{name}-{r}.db"
                prof = profiler if name == "columns" else None
                figures[name].append(await run(path, name, count, prof))
    for name, runs in figures.items():
        add = [a * 1e6 for a, _ in runs]
        rel = [b * 1e6 for _, b in runs]
        print(
            f"{name:9} add: median {statistics.median(add):6.1f} µs (min {min(add):.1f})"
            f"  relay: median {statistics.median(rel):6.1f} µs (min {min(rel):.1f})"
            f"  per event, {rounds} rounds of {count}"
        )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    args = sys.argv[1:]
    n = int(next((a for a in args if a.isdigit()), "3000"))
    r = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 5
    if "--import" in args:
        asyncio.run(imports(n, r))
    else:
        asyncio.run(main(n, r, "--profile" in args))
