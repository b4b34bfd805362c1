"""The outbox's gauges (backlog, age of the oldest pending event, parked streams), kept current
for the life of the process: an alert on a relay that stopped draining needs them even when
nothing is written."""

from __future__ import annotations

import asyncio
import contextlib

from ikmkit.messaging.outbox import outbox_backlog
from ikmkit.messaging.outbox_parking import parked_count
from ikmkit.messaging.relay import OUTBOX_PARKED
from ikmkit.store import Store
from ikmkit.telemetry import metrics

INTERVAL_SECONDS = 5.0


async def watch_outbox(store: Store, service: str, interval: float = INTERVAL_SECONDS) -> None:
    """Export ``service``'s outbox gauges every ``interval`` seconds, until cancelled."""
    while True:
        # A store hiccup must not end the watcher: the next round measures again.
        with contextlib.suppress(Exception):
            backlog = await outbox_backlog(store)
            metrics.OUTBOX_BACKLOG.labels(service).set(backlog.pending)
            metrics.OUTBOX_OLDEST_AGE.labels(service).set(backlog.oldest_age_seconds)
            OUTBOX_PARKED.labels(service).set(await parked_count(store))
        await asyncio.sleep(interval)
