"""The latency bench's instruments: a lean HTTP client and the inbox watcher.

Both are built so the instrument adds as little as possible to what it measures:

- ``LeanHttp`` writes pre-encoded HTTP/1.1 requests on kept-alive connections (asyncio
  streams, no client library): tens of microseconds of CPU per request, where httpx costs
  about a millisecond, on a machine whose two cores the services need.
- ``watch_inbox`` runs in its own process and tails notify's SQLite file read-only (WAL: a
  reader never blocks the writer), one indexed ``rowid > last`` query per millisecond. A row
  is there once notify's transaction committed, and from then on ``GET /inbox`` returns it
  (that endpoint reads the same table); polling the API instead would put a request per
  pending registration per poll on notify's event loop, the very thing being measured.
  Times are ``time.perf_counter()`` (CLOCK_MONOTONIC, the same clock in every process).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from multiprocessing.connection import Connection
from pathlib import Path


class LeanHttp:
    """POSTs JSON over a pool of kept-alive connections; one request per connection at a time."""

    def __init__(self, url: str, token: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self._host, self._port = host, int(port)
        self._auth = f"Bearer {token}"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self, connections: int) -> None:
        """Connect ahead of the load, so no measured request pays for a handshake."""
        for _ in range(connections):
            self._idle.append(await self._connect())

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self._host, self._port)

    @staticmethod
    async def _exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> int:
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def post(self, path: str, body: object) -> int:
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nAuthorization: {self._auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        reused = bool(self._idle)
        reader, writer = self._idle.pop() if reused else await self._connect()
        try:
            status = await self._exchange(reader, writer, head + payload)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            if not reused:
                raise
            # The server closed this idle connection (keep-alive timeout): once more, anew.
            writer.close()
            reader, writer = await self._connect()
            status = await self._exchange(reader, writer, head + payload)
        self._idle.append((reader, writer))
        return status


def watch_inbox(db: str, prefix: str, stop: Connection, interval: float = 0.001) -> None:
    """Process target: the first time each ``prefix*`` recipient's in-app message is in ``db``.

    Sends ``{recipient: perf_counter}`` back through ``stop`` once told to stop."""
    while not Path(db).exists():
        time.sleep(0.05)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    seen: dict[str, float] = {}
    last = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM c_notifications").fetchone()[0]
    query = (
        "SELECT rowid, json_extract(doc, '$.recipient'), json_extract(doc, '$.channel')"
        " FROM c_notifications WHERE rowid > ? ORDER BY rowid"
    )
    while not stop.poll():
        rows = conn.execute(query, (last,)).fetchall()
        now = time.perf_counter()
        for rowid, recipient, channel in rows:
            last = rowid
            if channel == "inbox" and recipient.startswith(prefix):
                seen.setdefault(recipient, now)
        time.sleep(interval)
    conn.close()
    stop.send(seen)
