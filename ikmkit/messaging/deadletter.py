"""Dead letters: a consumer group's record it cannot process, parked with the reason.

A dead letter is the original record (key, value, headers) plus ``dlq_*``
headers on ``<topic>.dlq.<group>``. The copy is larger than the original, so a
record close to the size limit has a dead letter over it; the broker may also
refuse a record for other reasons that no retry can change. Then a *truncated*
dead letter is published instead: the headers (each value cut to
``HEADER_LIMIT`` bytes), the first ``PAYLOAD_PREFIX`` bytes of the value, the
original size and SHA-256 digest, and why the full copy was refused. Should
that be refused too, a last copy keeps only the ``dlq_*`` facts (no original
header, key or byte). The original bytes stay in the source topic (until its
retention) at the recorded topic, partition and offset.

Only a transient error (broker unreachable, timeout, leader moving) escapes to
the caller: then the record is redelivered and dead-lettered later, which is
right. Anything else would stall the partition forever on one record.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from aiokafka.errors import KafkaError, KafkaTimeoutError

from contracts.topics import dead_letter_topic
from ikmkit.messaging.outbox import OutgoingMessage
from ikmkit.telemetry import metrics

log = logging.getLogger("ikmkit.messaging.consumer")

H_DLQ_REASON = "dlq_reason"
H_DLQ_ERROR = "dlq_error"
H_DLQ_ATTEMPTS = "dlq_attempts"
H_DLQ_GROUP = "dlq_consumer_group"
H_DLQ_TOPIC = "dlq_original_topic"
H_DLQ_PARTITION = "dlq_original_partition"
H_DLQ_OFFSET = "dlq_original_offset"
H_DLQ_FAILED_AT = "dlq_failed_at"
H_DLQ_TRUNCATED = "dlq_truncated"
H_DLQ_TRUNCATED_BECAUSE = "dlq_truncated_because"
H_DLQ_TRUNCATED_HEADERS = "dlq_truncated_headers"
H_DLQ_ORIGINAL_SIZE = "dlq_original_size"
H_DLQ_ORIGINAL_SHA256 = "dlq_original_sha256"

ERROR_LIMIT = 4000
"""Characters of the error text kept in ``dlq_error``."""
PAYLOAD_PREFIX = 64 * 1024
"""Bytes of the value a truncated dead letter keeps."""
HEADER_LIMIT = 1024
"""Bytes of each original header (and of the key) a truncated dead letter keeps."""
HEADERS_BUDGET = 32 * 1024
"""Bytes of original headers a truncated dead letter keeps in all; later ones are dropped."""


class DeadLetterSink(Protocol):
    async def publish(self, message: OutgoingMessage) -> None: ...


class Record(Protocol):
    """What the consumer needs of a Kafka record (aiokafka's ``ConsumerRecord`` fits)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def is_transient(exc: BaseException) -> bool:
    """Would publishing the same record again, later, succeed? (Then redelivery is right.)"""
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KafkaTimeoutError)
    return isinstance(exc, (OSError, TimeoutError, asyncio.TimeoutError))


def describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()


class DeadLetters:
    """Publishes a consumer group's dead letters; never lets one record stall a partition."""

    def __init__(self, group: str, sink: DeadLetterSink) -> None:
        self.group = group
        self.sink = sink

    async def park(self, record: Record, reason: str, error: str, *, attempts: int) -> None:
        topic = dead_letter_topic(record.topic, self.group)
        full = self._full(record, topic, reason, error, attempts)
        # Whole copy, else headers and a prefix, else the dlq_* facts alone (size and digest).
        message, fallbacks = full, [True, False]
        while True:
            try:
                await self.sink.publish(message)
                break
            except Exception as exc:
                if is_transient(exc) or not fallbacks:
                    raise
                # Reason and position only: the error text may quote payload fields.
                log.warning(
                    "dead letter of %s[%d]@%d refused (%s); publishing it truncated",
                    record.topic,
                    record.partition,
                    record.offset,
                    type(exc).__name__,
                )
                message = self._truncated(record, full, describe(exc), fallbacks.pop(0))
        metrics.EVENTS_DEAD_LETTERED.labels(self.group, record.topic, reason).inc()
        log.error(
            "dead-lettered %s[%d]@%d to %s: %s%s",
            record.topic,
            record.partition,
            record.offset,
            topic,
            reason,
            "" if message is full else " (truncated)",
        )

    def _full(
        self, record: Record, topic: str, reason: str, error: str, attempts: int
    ) -> OutgoingMessage:
        headers = [
            *record.headers,
            (H_DLQ_REASON, reason.encode()),
            (H_DLQ_ERROR, error[:ERROR_LIMIT].encode()),
            (H_DLQ_ATTEMPTS, str(attempts).encode()),
            (H_DLQ_GROUP, self.group.encode()),
            (H_DLQ_TOPIC, record.topic.encode()),
            (H_DLQ_PARTITION, str(record.partition).encode()),
            (H_DLQ_OFFSET, str(record.offset).encode()),
            (H_DLQ_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        return OutgoingMessage(
            topic=topic, key=record.key or b"", value=record.value or b"", headers=headers
        )

    @staticmethod
    def _truncated(
        record: Record, full: OutgoingMessage, because: str, keep_original: bool
    ) -> OutgoingMessage:
        """A bounded copy; without ``keep_original`` no original header or byte is kept."""
        value = record.value or b""
        original = len(record.headers)
        headers, cut = _bounded(full.headers[:original] if keep_original else [])
        if not keep_original:
            cut = ["*(dropped)"]
        headers += full.headers[original:]
        headers += [
            (H_DLQ_TRUNCATED, b"true"),
            (H_DLQ_TRUNCATED_BECAUSE, because[:ERROR_LIMIT].encode()),
            (H_DLQ_ORIGINAL_SIZE, str(len(value)).encode()),
            (H_DLQ_ORIGINAL_SHA256, hashlib.sha256(value).hexdigest().encode()),
        ]
        if cut:
            headers.append((H_DLQ_TRUNCATED_HEADERS, ",".join(cut).encode()[:HEADER_LIMIT]))
        return OutgoingMessage(
            topic=full.topic,
            key=full.key[:HEADER_LIMIT] if keep_original else b"",
            value=value[:PAYLOAD_PREFIX] if keep_original else b"",
            headers=headers,
        )


def _bounded(headers: Sequence[tuple[str, bytes]]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Headers with each value cut to HEADER_LIMIT, within HEADERS_BUDGET; and what was cut."""
    kept: list[tuple[str, bytes]] = []
    cut: list[str] = []
    used = 0
    for long_name, value in headers:
        name = long_name[:256]
        short = (value or b"")[:HEADER_LIMIT]
        if used + len(name) + len(short) > HEADERS_BUDGET:
            cut.append(f"{name}(dropped)")
            continue
        if len(value or b"") > HEADER_LIMIT:
            cut.append(name)
        kept.append((name, short))
        used += len(name) + len(short)
    return kept, cut
