"""The "typical CRUD" peer of the registry bench (issue #14): a minimal FastAPI endpoint that
inserts the same enterprise document into SQLite, one commit per request, and nothing else
(no outbox, no hash chain, no domain rules, no tracing, no metrics, no auth).

Run exactly as the registry is, its own uvicorn process on the stdlib asyncio loop:
``uvicorn bench._crud_peer:create_app --factory --loop asyncio --http httptools``. Its database
is ``$IKM_DATA_DIR/crud-peer.db``, WAL with ``synchronous=NORMAL`` as the service's store.
The endpoint is the lean form of the pattern (``async def``, the stdlib driver on the loop: no
threadpool hop, no ORM), so the registry is compared with the fastest simple peer, not a slow one.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from fastapi import FastAPI, status
from pydantic import BaseModel


class EnterpriseIn(BaseModel):
    nib: str
    name: str
    legal_form: str = "perorangan"
    owner_name: str
    owner_nik: str | None = None
    owner_phone: str | None = None
    owner_email: str | None = None
    province: str
    regency: str
    kbli: str
    workforce: int = 0
    investment_rupiah: int = 0
    products: list[str] = []


class EnterpriseOut(EnterpriseIn):
    version: int


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS enterprises"
        " (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)"
    )
    return conn


def create_app() -> FastAPI:
    data = Path(os.environ.get("IKM_DATA_DIR", "."))
    conn = _connect(data / "crud-peer.db")
    app = FastAPI(title="typical CRUD peer")

    @app.post("/enterprises", status_code=status.HTTP_201_CREATED)
    async def register(body: EnterpriseIn) -> EnterpriseOut:
        stored = EnterpriseOut(**body.model_dump(), version=1)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO enterprises (id, version, doc) VALUES (?, 1, ?)",
            (stored.nib, json.dumps(stored.model_dump())),
        )
        conn.execute("COMMIT")
        return stored

    @app.get("/readyz")
    async def ready() -> dict[str, int]:
        (count,) = conn.execute("SELECT COUNT(*) FROM enterprises").fetchone()
        return {"enterprises_total": count}

    return app
