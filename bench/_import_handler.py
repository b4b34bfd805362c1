"""The enterprise import's handler alone, beside the HTTP figure: the same rows, batches and
SQLite file store, the same unit of work and outbox, without HTTP (parsing, response,
middleware) and without the relay. What HTTP costs is the difference between the two."""

from __future__ import annotations

import time
from pathlib import Path

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
