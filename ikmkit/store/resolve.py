"""Which store a service process uses, from its settings."""

from __future__ import annotations

from pathlib import Path

from ikmkit.store.mongo import MongoStore
from ikmkit.store.port import Store
from ikmkit.store.sqlite import SqliteStore


def store_for(
    service: str, *, mongodb_url: str | None, data_dir: Path, migrate: bool = True
) -> Store:
    """The store a service uses: MongoDB if a URL is configured, else its SQLite file.
    ``migrate=False`` for tools run beside the service: an SQLite file not in this
    release's layout yet is refused, not migrated (``SqliteStore``)."""
    if mongodb_url:
        return MongoStore(mongodb_url, f"ikm_{service}")
    return SqliteStore(data_dir / f"{service}.db", migrate=migrate)
