"""A batch subscriber's ask for records: it waits on aiokafka's fetch, never on a timer.

FastStream's batch subscriber asks ``getmany(timeout_ms=batch_timeout_ms)`` and, when nothing
came, sleeps ``batch_timeout_ms`` before asking again: with a short timeout an idle consumer
loops a hundred times a second, with a long one a record fetched during the sleep waits it
out. aiokafka's ``getmany`` already returns the moment a fetch brings records, so the ask
here waits up to ``IDLE_ASK_MS`` and never sleeps: records reach the handler as soon as they
are fetched, and an idle consumer asks about once a second (its fetches to the broker are
aiokafka's, paced by ``fetch_max_wait_ms``, and unchanged).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

IDLE_ASK_MS = 1_000
"""How long one ask waits when nothing is fetched; records end the wait at once, and a
stopping subscriber cancels it."""


def wait_for_records(subscriber: Any) -> None:
    """Make a FastStream batch ``subscriber`` ask for records this way (before it starts)."""
    max_records = subscriber.max_records

    async def get_msg(consumer: Any) -> tuple[Any, ...]:
        fetched = await consumer.getmany(timeout_ms=IDLE_ASK_MS, max_records=max_records)
        return tuple(chain.from_iterable(fetched.values()))

    subscriber.get_msg = get_msg
