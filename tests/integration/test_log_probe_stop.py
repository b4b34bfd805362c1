"""The relay's log probe stops at once after a check.

A check ends by unsubscribing its reader (so it fetches nothing between checks); aiokafka's
fetch routine then cancels its in-flight fetches and awaits them, suppressing the
``CancelledError`` it expects from them. A ``stop()`` right after the check cancelled the
routine inside that window: the cancellation was swallowed, the routine went on to wait for an
assignment that never comes, and ``stop()`` waited for it for ever (the relay bounds it at
5 s; a standalone script hung). The bound here is far from both behaviours: the stop takes
milliseconds, the hang lasts until cancelled.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from ikmkit.messaging.kafka import KafkaLogProbe
from tests.support.kafka import marked_records

STOP_SECONDS = 1.0
RELAY_BOUND_SECONDS = 5  # OutboxRelay.stop's bound on the probe's stop


async def _stop_seconds(probe: KafkaLogProbe) -> float:
    started = time.perf_counter()
    # The old stop swallowed wait_for's cancellation too: the time tells, not an exception.
    await asyncio.wait_for(probe.stop(), RELAY_BOUND_SECONDS)
    return time.perf_counter() - started


async def test_the_probe_stops_at_once_right_after_a_check(kafka: str) -> None:
    topic = f"ikm.test.probe-stop-{uuid.uuid4().hex[:10]}.v1"
    marks = await marked_records(kafka, topic)
    for checks in (1, 3):
        probe = KafkaLogProbe(kafka, partitions=3)
        try:
            for _ in range(checks):
                check = await probe.check(marks, [topic])
                assert check.clean, check
        finally:
            took = await _stop_seconds(probe)
        assert took < STOP_SECONDS, (checks, took)
        assert probe._consumer is None


async def test_a_probe_that_never_checked_stops_at_once(kafka: str) -> None:
    probe = KafkaLogProbe(kafka, partitions=3)
    assert await _stop_seconds(probe) < STOP_SECONDS
