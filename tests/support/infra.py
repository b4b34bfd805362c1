"""Test infrastructure: resolved once per session, shared by every scope."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ikmdev.infra import MongoEndpoint, resolve_mongo


class MongoEcoServer:
    """A mongoeco MongoDB-wire server on its own thread and event loop.

    Its own loop keeps the (slow) server from competing with the test's loop.
    """

    def __init__(self) -> None:
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._server: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mongoeco", daemon=True)

    def _run(self) -> None:
        from mongoeco.wire import AsyncMongoEcoProxyServer

        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = AsyncMongoEcoProxyServer()
            address = await self._server.start()
            self.url = f"mongodb://{address.host}:{address.port}/?directConnection=true"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> MongoEcoServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("mongoeco wire server did not start")
        return self

    def stop(self) -> None:
        async def close() -> None:
            await self._server.close()

        future = asyncio.run_coroutine_threadsafe(close(), self._loop)
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


MONGO_KIND = {"kind": ""}
"""Which MongoDB-wire server this session runs against (set by the ``mongo_url`` fixture)."""


def resolve_test_mongo() -> tuple[str, str, Any]:
    """(url, kind, stopper): real MongoDB if configured or Docker answers, else mongoeco."""
    real: MongoEndpoint | None = resolve_mongo()
    if real is not None:
        return real.url, real.kind, real
    server = MongoEcoServer().start()
    return server.url, "mongoeco", server
