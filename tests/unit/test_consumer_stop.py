"""``KafkaLogProbe.stop`` ends aiokafka's fetch routine even when the routine swallows a
cancellation (as it does while awaiting its own cancelled fetches, right after the probe's
check unsubscribes): it is cancelled again until it ends, so the consumer's stop, which
awaits it, cannot wait for ever. The real broker case: tests/integration/test_log_probe_stop.py."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any, cast

from ikmkit.messaging import consumer_stop


async def _swallowing_routine(swallowed: list[int]) -> None:
    with contextlib.suppress(asyncio.CancelledError):  # aiokafka's "await task" window
        await asyncio.Event().wait()
    swallowed.append(1)
    await asyncio.Event().wait()  # "wait for the next assignment": never comes


async def test_a_routine_that_swallows_a_cancellation_is_ended() -> None:
    swallowed: list[int] = []
    routine = asyncio.create_task(_swallowing_routine(swallowed))
    await asyncio.sleep(0)
    consumer = cast(Any, SimpleNamespace(_fetcher=SimpleNamespace(_fetch_task=routine)))
    await asyncio.wait_for(consumer_stop.end_fetch_routine(consumer), 1)
    assert swallowed == [1]
    assert routine.cancelled()


async def test_a_consumer_without_a_routine_is_left_to_its_stop() -> None:
    consumer = cast(Any, SimpleNamespace(_fetcher=None))
    await asyncio.wait_for(consumer_stop.end_fetch_routine(consumer), 1)
