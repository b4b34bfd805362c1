"""The relay's log check does not sit out the broker's fetch wait.

The relay runs ``KafkaLogProbe.check`` inside a pass (at start, after failures, every
``outbox_verify_interval`` seconds), so whatever the check waits, every registration committed
meanwhile waits too. Its fetch of the marked records used aiokafka's default 500 ms
``fetch_max_wait_ms``, and the embedded broker holds a fetch that long: 0.5-1 s per check,
every 5 s, the 420-480 ms p99 of the registry relay's hop at 100 req/s (docs/performance.md,
Latency). Not a speed target: a stall, so the bound sits far between the two behaviours
(the held fetch alone is 500 ms; the check takes ~10-20 ms without it), on the best of three.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from ikmkit.messaging.kafka import KafkaLogProbe
from tests.support.kafka import marked_records

HELD_FETCH_SECONDS = 0.5


async def test_a_log_check_is_not_held_by_the_brokers_fetch_wait(kafka: str) -> None:
    topic = f"ikm.test.probe-{uuid.uuid4().hex[:10]}.v1"
    marks = await marked_records(kafka, topic)
    probe = KafkaLogProbe(kafka, partitions=3)
    took = []
    try:
        for _ in range(3):
            started = time.perf_counter()
            check = await probe.check(marks, [topic])
            took.append(time.perf_counter() - started)
            assert check.clean, check  # the log holds every mark: nothing lost
    finally:  # bounded as the relay bounds it (OutboxRelay.stop)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(probe.stop(), 5)
    assert min(took) < HELD_FETCH_SECONDS * 0.8, took
