"""The dispatcher: a background loop that sends due e-mails and webhooks (see service.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ikmkit.store import Store
from services.notify import service

log = logging.getLogger("ikm.notify.dispatcher")


class Dispatcher:
    def __init__(self, store: Store, deps: service.Dispatching, idle_seconds: float) -> None:
        self._store = store
        self._deps = deps
        self._idle = idle_seconds
        self._wake = asyncio.Event()
        self.attempted_total = 0

    def wake(self) -> None:
        """New pending notifications were written: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                attempted = await service.dispatch_due(self._store, self._deps)
            except Exception:
                log.exception("dispatch pass failed; retrying")
                attempted = 0
                await asyncio.sleep(self._idle)
            self.attempted_total += attempted
            if attempted < self._deps.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle)
                self._wake.clear()
