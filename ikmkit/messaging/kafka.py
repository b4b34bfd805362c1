"""Kafka plumbing over aiokafka: the outbox publisher, the log probe and topic administration.

The producer is deliberately not idempotent or transactional (the embedded
broker rejects InitProducerId, and correctness never relies on it): the outbox
gives at-least-once publication and consumers deduplicate by event id.

``KafkaPublisher.publish_batch`` writes each partition's messages as record
batches, one batch in flight per partition, so a batch that fails stops its
partition and nothing after it can overtake it. A batch is appended whole or not
at all, which makes every message's outcome exact: where it landed, or why not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    MessageSizeTooLargeError,
    OffsetOutOfRangeError,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from ikmkit.messaging.consumer_stop import stop_consumer
from ikmkit.messaging.kafka_security import kafka_client_options
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OutgoingMessage, PublishResult
from ikmkit.messaging.outbox_log import LogCheck, LogMark
from ikmkit.messaging.partitions import partition_of

log = logging.getLogger("ikmkit.messaging.kafka")

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError,
    OffsetOutOfRangeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
)
"""The broker refuses the record itself: sending it again as it is can never succeed."""
INVALID_RECORD = 87  # a Kafka error code aiokafka has no class for


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PERMANENT_ERRORS) or getattr(exc, "errno", None) == INVALID_RECORD


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


NOT_ATTEMPTED = PublishResult(error="not attempted: an earlier message of its key failed")


class KafkaPublisher:
    """Publishes outbox batches and dead letters; order per partition is preserved."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "ikm",
        security: Mapping[str, Any] | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            **(kafka_client_options() if security is None else security),
            client_id=client_id,
            acks="all",
            enable_idempotence=False,
            linger_ms=1,  # dead letters; relay batches are complete and never linger
            max_batch_size=256 * 1024,
            request_timeout_ms=15000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, message: OutgoingMessage) -> None:
        """Publish one message; raise if it failed (dead letters)."""
        future = await self._producer.send(
            message.topic, message.value, key=message.key, headers=message.headers
        )
        await future

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        results: list[PublishResult | None] = [None] * len(messages)
        lanes: dict[TopicPartition, list[int]] = defaultdict(list)
        layouts: dict[str, list[int] | BaseException] = {}
        for i, message in enumerate(messages):
            if message.topic not in layouts:
                layouts[message.topic] = await self._layout(message.topic)
            layout = layouts[message.topic]
            if isinstance(layout, BaseException):
                results[i] = PublishResult(error=_describe(layout))
                continue
            partition = partition_of(message.key, layout)
            lanes[TopicPartition(message.topic, partition)].append(i)
        await asyncio.gather(
            *(self._publish_lane(tp, lane, messages, results, set()) for tp, lane in lanes.items())
        )
        return [result or NOT_ATTEMPTED for result in results]

    async def _layout(self, topic: str) -> list[int] | BaseException:
        try:
            return sorted(await self._producer.partitions_for(topic))
        except Exception as exc:  # no metadata: the broker is unreachable
            return exc

    async def _publish_lane(
        self,
        tp: TopicPartition,
        lane: list[int],
        messages: Sequence[OutgoingMessage],
        results: list[PublishResult | None],
        failed_keys: set[bytes],
        *,
        one_per_batch: bool = False,
    ) -> bool:
        """Publish one partition's messages in order; False if it stopped on a transient error."""
        position = 0
        while position < len(lane):
            batch, members, position = self._fill(
                lane, position, messages, results, failed_keys, one_per_batch
            )
            if not members:
                continue
            batch.close()  # complete: sent at once, not after linger_ms (an open one lingers)
            try:
                metadata = await (
                    await self._producer.send_batch(batch, tp.topic, partition=tp.partition)
                )
            except Exception as exc:
                if not await self._refused(tp, exc, members, messages, results, failed_keys):
                    for i in lane[position:]:
                        results[i] = results[i] or NOT_ATTEMPTED
                    return False
                continue
            base = int(metadata.offset)
            for n, i in enumerate(members):
                results[i] = PublishResult(
                    partition=tp.partition, offset=base + n, batch_offset=base
                )
        return True

    async def _refused(
        self,
        tp: TopicPartition,
        exc: Exception,
        members: list[int],
        messages: Sequence[OutgoingMessage],
        results: list[PublishResult | None],
        failed_keys: set[bytes],
    ) -> bool:
        """Record the outcomes of a batch that failed; False if its partition must stop."""
        if not is_permanent(exc):
            for i in members:
                results[i] = PublishResult(error=_describe(exc))
            return False
        if len(members) == 1:
            results[members[0]] = PublishResult(error=_describe(exc), permanent=True)
            failed_keys.add(messages[members[0]].key)
            return True
        # The broker refused the batch for one record in it: one by one, to find which.
        return await self._publish_lane(
            tp, members, messages, results, failed_keys, one_per_batch=True
        )

    def _fill(
        self,
        lane: list[int],
        position: int,
        messages: Sequence[OutgoingMessage],
        results: list[PublishResult | None],
        failed_keys: set[bytes],
        one_per_batch: bool,
    ) -> tuple[Any, list[int], int]:
        """The next record batch from ``lane[position:]``: (batch, its members, next position)."""
        batch = self._producer.create_batch()
        members: list[int] = []
        while position < len(lane) and not (one_per_batch and members):
            i = lane[position]
            message = messages[i]
            if message.key in failed_keys:
                results[i] = NOT_ATTEMPTED
            elif not message.force and self._size(message) > self.max_message_bytes:
                size = self._size(message)
                results[i] = PublishResult(
                    error=f"MessageSizeTooLargeError: the record is {size} bytes, more than"
                    f" the {self.max_message_bytes} bytes allowed",
                    permanent=True,
                )
                failed_keys.add(message.key)
            elif batch.append(
                key=message.key, value=message.value, timestamp=None, headers=message.headers
            ):
                members.append(i)
            else:
                break  # batch full: this message starts the next one
            position += 1
        return batch, members, position

    @staticmethod
    def _size(message: OutgoingMessage) -> int:
        size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(
            message.key, message.value, message.headers
        )
        return size


PROBE_FETCH_WAIT_MS = 5


class KafkaLogProbe:
    """Tells whether the log still holds the record batches the relay last wrote.

    Cheap enough to run every few seconds: one metadata request, one end-offsets
    request and one fetch of the marked record per partition. A broker that
    restarted empty and has taken new records since is caught too: the record at
    the marked offset is then another event.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        partitions: int,
        client_id: str = "ikm-log-probe",
        fetch_timeout: float = 5.0,
        security: Mapping[str, Any] | None = None,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._security = dict(security or {})  # aiokafka client options (SASL, SSL)
        self._partitions = partitions
        self._client_id = client_id
        self._fetch_timeout = fetch_timeout
        self._consumer: AIOKafkaConsumer | None = None
        self._unanswered: set[LogMark] = set()

    async def stop(self) -> None:
        if self._consumer is not None:
            await stop_consumer(self._consumer)  # not held by a check's unsubscribe
            self._consumer = None

    async def _reader(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                **self._security,
                client_id=self._client_id,
                enable_auto_commit=False,
                max_partition_fetch_bytes=64 * 1024,
                # The relay waits for this check: a fetch held for the default 500 ms (the
                # embedded broker holds it so whenever one partition has nothing past the
                # mark) stalled every relay pass that ran the check, the p99 of issue #14.
                fetch_max_wait_ms=PROBE_FETCH_WAIT_MS,
                request_timeout_ms=10000,
                auto_offset_reset="none",  # an offset the log no longer has is an answer
            )
            try:
                await consumer.start()
            except BaseException:  # cancelled or unreachable: don't leak its connections
                with contextlib.suppress(Exception):
                    await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        await ensure_topics(self._bootstrap, topics, partitions=self._partitions)

    async def check(self, marks: Sequence[LogMark], topics: Iterable[str]) -> LogCheck:
        reader = await self._reader()
        # Fresh metadata of every topic (this request never creates one); the consumer's own
        # cached view would be stale right after a topic was deleted or recreated.
        cluster = await reader._client.fetch_all_metadata()
        existing = cluster.topics()
        missing = {t for t in [*topics, *(m.topic for m in marks)] if t not in existing}
        lost: set[tuple[str, int]] = set()
        present: dict[TopicPartition, LogMark] = {}
        for mark in marks:
            layout = () if mark.topic in missing else cluster.partitions_for_topic(mark.topic)
            if mark.partition not in (layout or ()):
                lost.add((mark.topic, mark.partition))
            else:
                present[TopicPartition(mark.topic, mark.partition)] = mark
        if present:
            ends = await reader.end_offsets(list(present))
            for tp, mark in list(present.items()):
                if ends[tp] <= mark.offset:
                    lost.add((tp.topic, tp.partition))
                    del present[tp]
            lost |= await self._replaced(reader, present)
        return LogCheck(missing_topics=missing, lost=lost)

    async def _replaced(
        self, reader: AIOKafkaConsumer, marks: dict[TopicPartition, LogMark]
    ) -> set[tuple[str, int]]:
        """Partitions whose record at the marked offset is another event than the relay wrote."""
        if not marks:
            return set()
        reader.assign(list(marks))
        try:
            for tp, mark in marks.items():
                reader.seek(tp, mark.offset)
            found = await self._first_records(reader, list(marks))
            starts = await reader.beginning_offsets(list(marks))
        finally:
            reader.unsubscribe()
        replaced: set[tuple[str, int]] = set()
        unanswered: set[LogMark] = set()
        for tp, mark in marks.items():
            record = found.get(tp)
            if starts[tp] > mark.offset:
                continue  # retention removed it: nothing to compare with, nothing to tell
            if record is None and mark not in self._unanswered:
                # Not fetched in time: ask again next check before calling it lost.
                log.warning("log probe: no record at %s offset %d in time", tp, mark.offset)
                unanswered.add(mark)
            elif record != (mark.offset, mark.event_id):
                replaced.add((tp.topic, tp.partition))
        self._unanswered = unanswered
        return replaced

    async def _first_records(
        self, reader: AIOKafkaConsumer, tps: list[TopicPartition]
    ) -> dict[TopicPartition, tuple[int, str | None]]:
        """Offset and event id of the first record at each position; (-1, None) if out of range."""
        found: dict[TopicPartition, tuple[int, str | None]] = {}
        deadline = time.monotonic() + self._fetch_timeout
        while len(found) < len(tps) and time.monotonic() < deadline:
            waiting = [tp for tp in tps if tp not in found]
            try:
                fetched = await reader.getmany(*waiting, timeout_ms=500)
            except OffsetOutOfRangeError as exc:
                for tp in exc.args[0] if exc.args and isinstance(exc.args[0], dict) else ():
                    found[tp] = (-1, None)
                continue
            for tp, records in fetched.items():
                if records:
                    headers = dict(records[0].headers)
                    event_id = headers.get("ce_id")
                    found[tp] = (records[0].offset, event_id.decode() if event_id else None)
        return found
