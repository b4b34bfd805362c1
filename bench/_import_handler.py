"""The enterprise import's handler alone, beside the HTTP figure: the same rows, batches and
SQLite file store, the same unit of work and outbox, without HTTP (parsing, response,
middleware) and without the relay. What HTTP costs is the difference between the two.

Alone: ``python -m bench._import_handler [--rows N] [--profile out.prof]`` prints rows per
CPU-second (steady on a shared machine) and rows per second of wall clock."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from pathlib import Path

from bench._enterprises import enterprise_import_rows
from ikmkit.auth import Caller
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.registry.commands import ImportEnterprises
from services.registry.handlers.imports import import_enterprises
from services.registry.store import COLLECTIONS, RegistryUnit

MINISTRY = Caller("bench-ministry", "ministry")


async def handler_seconds(rows: list[dict[str, object]], batch: int, path: Path) -> float:
    """Seconds to import ``rows`` through the handler, ``batch`` rows per unit of work (the
    request bodies are validated as FastAPI would, inside the timing)."""
    store = SqliteStore(path)
    await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    units = Units(store, Outbox("urn:ikm:bench"), RegistryUnit)
    try:
        started = time.perf_counter()
        imported = 0
        for start in range(0, len(rows), batch):
            cmd = ImportEnterprises.model_validate({"rows": rows[start : start + batch]})
            imported += (await units.run(import_enterprises, cmd, MINISTRY)).imported
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    assert imported > 0, "the handler imported nothing"
    return seconds


async def _measure(rows: int, batch: int, profile: str | None) -> None:
    data = enterprise_import_rows(rows + batch, bad_every=100)
    with tempfile.TemporaryDirectory() as workdir:
        # A first batch on its own store: imports, caches and pydantic's schemas are warm.
        await handler_seconds(data[rows:], batch, Path(workdir) / "warm.db")
        profiler = cProfile.Profile(time.process_time) if profile else None
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        wall = await handler_seconds(data[:rows], batch, Path(workdir) / "import.db")
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu = time.process_time() - cpu
    print(f"handler alone, {rows:,} rows: {rows / cpu:,.0f} rows per CPU-second, "
          f"{rows / wall:,.0f} rows/s wall clock")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--profile")
    args = parser.parse_args()
    asyncio.run(_measure(args.rows, args.batch, args.profile))


if __name__ == "__main__":
    main()
