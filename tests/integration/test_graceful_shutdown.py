"""A stopping service finishes the consumer batch in hand and commits its offset after the effect
(SIGTERM: uvicorn drains HTTP, then the lifespan stops the consumers: FastStream's broker waits
for handlers in flight, its graceful_timeout 15 s, which the lifespan's 10 s stop step bounds).
Cancelled instead, the batch's work would be redone by the partition's next owner.

Real embedded broker (its own: a fresh group on the session's would read every other test's
events) and a real SQLite store; the handler is held on an ``asyncio.Event`` that is released
shortly after the stop began, as a handler that takes a second would be.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from contracts.notify import DELIVERY_TOPIC
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.progress import ConsumerLagProbe
from ikmkit.service.lifespan import STOP_STEP_SECONDS
from ikmkit.service.settings import ServiceSettings
from tests.support.kafka import produce_event
from tests.support.notify_dead import HeldConsumer, dead_notification
from tests.support.service import running_service

HANDLER_SECONDS = 1.5


async def test_a_stop_finishes_the_batch_in_hand_and_commits_it(
    own_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    kafka = own_broker.bootstrap_servers
    group = f"stop-{uuid.uuid4().hex[:8]}"
    held = HeldConsumer(group)
    definition = held.service("stoptest", ServiceSettings(kafka_bootstrap_servers=kafka), tmp_path)
    event_id = str(uuid.uuid4())
    async with running_service(definition):
        await produce_event(kafka, dead_notification(event_id))
        await asyncio.wait_for(held.started.wait(), 30)
        asyncio.get_running_loop().call_later(HANDLER_SECONDS, held.release.set)
        stopping = time.monotonic()
    stopped = time.monotonic() - stopping

    assert held.handled == [event_id], "the batch in hand was cancelled, not finished"
    assert stopped < STOP_STEP_SECONDS  # bounded: waited for the handler, not for ever
    probe = ConsumerLagProbe(kafka)
    await probe.start()
    try:
        lag = await probe.measure(group, [DELIVERY_TOPIC])
    finally:
        await probe.stop()
    assert sum(lag.values()) == 0, f"offset not committed after the effect: {lag}"
