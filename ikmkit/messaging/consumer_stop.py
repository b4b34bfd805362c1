"""Stopping an aiokafka consumer that may have just changed its assignment.

After an ``unsubscribe()`` (or a new ``assign()``), aiokafka's fetch routine cancels its
in-flight fetches and awaits them with ``CancelledError`` suppressed. ``consumer.stop()``
cancelling the routine in that window is swallowed: the routine goes on to wait for an
assignment that never comes, and ``stop()`` waits for it for ever (aiokafka 0.14,
``Fetcher._fetch_requests_routine``). Seen in ``KafkaLogProbe.stop()`` right after a check.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

ROUTINE_POLL_SECONDS = 0.05


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """``consumer.stop()``, its fetch routine first cancelled until it has ended."""
    await end_fetch_routine(consumer)
    await consumer.stop()


async def end_fetch_routine(consumer: AIOKafkaConsumer) -> None:
    """Cancels the consumer's fetch routine again until it ends (its fetches are left to
    ``stop()``, which cancels and awaits them)."""
    routine: asyncio.Task[None] | None = getattr(consumer._fetcher, "_fetch_task", None)
    while routine is not None and not routine.done():
        routine.cancel()
        await asyncio.wait({routine}, timeout=ROUTINE_POLL_SECONDS)
