"""KafkaPublisher's per-message outcomes when the broker refuses a batch (scripted broker side).

The embedded broker accepts records of any size, so the broker's refusals are scripted
here; the real broker is used by tests/integration/test_relay_parking.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.outbox import OutgoingMessage


class Batch:
    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def append(self, *, key: bytes, value: bytes, timestamp: None, headers: Any) -> bool:
        if len(self.values) == 3:  # room for three records per batch
            return False
        self.values.append(value)
        return True


class Broker:
    """Appends whole batches; refuses any batch holding ``b"poison"``, or all once down."""

    def __init__(self) -> None:
        self.log: list[bytes] = []
        self.down = False
        self.requests = 0

    def create_batch(self) -> Batch:
        return Batch()

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        self.requests += 1
        # A batch handed over open would wait linger_ms for records that never come.
        assert batch.closed, "the publisher sends complete (closed) batches"
        values = batch.values
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.down:
            future.set_exception(KafkaTimeoutError())
        elif b"poison" in values:
            future.set_exception(MessageSizeTooLargeError())
        else:
            future.set_result(type("Meta", (), {"offset": len(self.log)})())
            self.log += values
        return future


def publisher(broker: Broker) -> KafkaPublisher:
    pub = KafkaPublisher("127.0.0.1:1")
    pub._producer = broker  # type: ignore[assignment]
    return pub


def messages(*spec: tuple[str, str]) -> Sequence[OutgoingMessage]:
    return [OutgoingMessage("t", key.encode(), value.encode(), []) for key, value in spec]


async def test_a_refused_batch_is_split_to_park_only_the_culprit_and_its_stream() -> None:
    broker = Broker()
    batch = messages(("a", "a1"), ("b", "b1"), ("a", "poison"), ("a", "a3"), ("c", "c1"))
    results = await publisher(broker).publish_batch(batch)
    assert [r.ok for r in results] == [True, True, False, False, True]
    assert results[2].permanent and "MessageSizeTooLarge" in str(results[2].error)
    assert not results[3].permanent  # a3 was never tried: it waits behind the parked a2
    assert broker.log == [b"a1", b"b1", b"c1"]  # each exactly once, in order
    assert [r.offset for r in results if r.ok] == [0, 1, 2]


async def test_a_transient_failure_stops_the_partition() -> None:
    broker = Broker()
    broker.down = True
    batch = messages(("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("d", "d1"))
    results = await publisher(broker).publish_batch(batch)
    assert not any(r.ok or r.permanent for r in results)
    assert broker.requests == 1  # nothing after the failed batch was sent
    assert broker.log == []


async def test_the_service_refuses_an_oversized_record_itself_naming_its_size() -> None:
    broker = Broker()
    pub = publisher(broker)
    pub.max_message_bytes = 100
    batch = messages(("a", "a1"), ("a", "x" * 200), ("a", "a3"), ("b", "b1"))
    results = await pub.publish_batch(batch)
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].permanent and "more than the 100 bytes allowed" in str(results[1].error)
    forced = await pub.publish_batch([OutgoingMessage("t", b"a", b"y" * 200, [], force=True)])
    assert forced[0].ok
