"""A Kafka record as the consumer and the audit read it, for feeding them without a broker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """What ``ikmkit.messaging.deadletter.Record`` asks of aiokafka's ``ConsumerRecord``."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class NoDeadLetters:
    """A dead-letter sink for runs where every record must be processed."""

    async def publish(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no dead letter expected")
