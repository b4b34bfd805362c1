"""Read Kafka topics without touching any consumer group.

The reader assigns partitions manually (no group id, no offset commits), so production
consumer groups never rebalance or move; it captures each partition's end offset at the
start and stops there, so what it reads of a live system is a consistent snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.catalog import all_topics
from contracts.topics import TOPIC_PREFIX, is_dead_letter_topic
from ikmkit.audit import fetch
from ikmkit.audit.fetch import LogEntry
from ikmkit.messaging.consumer import Record
from ikmkit.messaging.kafka_security import kafka_client_options
from ikmkit.messaging.metadata import fresh_cluster, partitions_in

PARTITION_FETCH_BYTES = 8 * 1024 * 1024
FETCH_BYTES = 16 * 1024 * 1024
"""A fetch response is decoded whole (``batches``): this bounds the records held at once."""

Fetch = Callable[[], Awaitable[Mapping[TopicPartition, Sequence[Any]]]]


class LogReader:
    """Reads topics from the beginning to the end offsets seen at ``open``, group-less."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str] | None = None,
        *,
        max_records: int | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        """``shard=(i, n)``: only every n-th partition from the i-th (parallel replay).

        ``max_records=None`` takes each fetch response whole: aiokafka asks for a
        partition again only once its buffer is empty, so the next fetch is in flight
        while the caller works on this one (a cap leaves the broker idle meanwhile).
        """
        self._shard = shard
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="ikm-audit",
            fetch_max_bytes=FETCH_BYTES,
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
            **kafka_client_options(),
        )
        self._requested = list(topics) if topics else None
        self._max_records = max_records
        self.topics: list[str] = []
        self.total = 0
        self._end: dict[TopicPartition, int] = {}
        self.truncated: frozenset[tuple[str, int]] = frozenset()

    async def open(self) -> None:
        """Start reading; a failure (no broker) closes the consumer before it is raised: the
        caller's ``close`` is not reached then, and an unclosed consumer warns at exit."""
        try:
            await self._open()
        except BaseException:
            await self._consumer.stop()
            raise

    async def _open(self) -> None:
        await self._consumer.start()
        # Topics and their partitions from one snapshot: a topic created since the client
        # started would otherwise be named and none of it read.
        cluster = await fresh_cluster(self._consumer)
        self.topics = sorted(
            self._requested
            if self._requested is not None
            else (
                t
                for t in cluster.topics()
                if t.startswith(TOPIC_PREFIX) and not is_dead_letter_topic(t)
            )
        )
        partitions = partitions_in(cluster, self.topics)
        if self._shard is not None:
            index, count = self._shard
            partitions = partitions[index::count]
        if not partitions:
            return
        self._consumer.assign(partitions)
        begin = await self._consumer.beginning_offsets(partitions)
        end = await self._consumer.end_offsets(partitions)
        self._end = {tp: end[tp] for tp in partitions if end[tp] > begin[tp]}
        self.truncated = frozenset((tp.topic, tp.partition) for tp in partitions if begin[tp] > 0)
        self.total = sum(end[tp] - begin[tp] for tp in self._end)
        for tp in partitions:
            if tp in self._end:
                self._consumer.seek(tp, begin[tp])
        idle = [tp for tp in partitions if tp not in self._end]
        if idle:
            self._consumer.pause(*idle)

    async def close(self) -> None:
        await self._consumer.stop()

    async def batches(self) -> AsyncIterator[list[Record]]:
        """Batches in offset order per partition, up to the end offsets of the snapshot."""
        async for _, records in self._read(self._getmany):
            yield records

    async def entries(self) -> AsyncIterator[tuple[TopicPartition, list[LogEntry]]]:
        """``batches`` with their partition, each record as aiokafka's decoder made it
        (``ikmkit.audit.fetch``: no ``ConsumerRecord`` per record), for the replay."""
        fast = self._max_records is None and fetch.supports(self._consumer)
        async for tp, records in self._read(self._take if fast else self._getmany):
            yield tp, records

    async def _getmany(self) -> Mapping[TopicPartition, Sequence[Any]]:
        fetched: dict[TopicPartition, list[Any]]
        fetched = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
        return fetched

    async def _take(self) -> Mapping[TopicPartition, Sequence[Any]]:
        return await fetch.take(self._consumer, 0.5)

    async def _read(self, fetched: Fetch) -> AsyncIterator[tuple[TopicPartition, list[Any]]]:
        """Per partition, records in offset order up to the end offsets of the snapshot.

        The embedded broker under-reports ``ListOffsets(latest)`` for multi-record
        batches, but its fetch responses carry the right high watermark: the end of
        a partition is the larger of the two, taken at its first fetch.
        """
        remaining = dict(self._end)
        exact: set[TopicPartition] = set()
        while remaining:
            for tp, fetched_records in (await fetched()).items():
                end = remaining.get(tp)
                if end is None:
                    continue
                if tp not in exact:
                    exact.add(tp)
                    end = self._widen(tp, end)
                    remaining[tp] = end
                records = list(fetched_records)
                if records[-1].offset >= end - 1:
                    records = [r for r in records if r.offset < end]
                    del remaining[tp]
                    self._consumer.pause(tp)
                yield tp, records

    def _widen(self, tp: TopicPartition, reported_end: int) -> int:
        highwater: int | None = self._consumer.highwater(tp)
        if highwater is None or highwater <= reported_end:
            return reported_end
        self.total += highwater - reported_end
        self._end[tp] = highwater
        return highwater

    @property
    def end_offsets(self) -> dict[TopicPartition, int]:
        """End offset per non-empty partition (exact once ``batches`` has read it)."""
        return dict(self._end)


async def unknown_topics(bootstrap_servers: str, topics: Sequence[str]) -> list[str]:
    """Of ``topics``, those neither on the broker nor named by a contract: a mistyped name
    would read nothing, and nothing read is nothing found."""
    strangers = sorted(set(topics) - set(all_topics()))
    if not strangers:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, client_id="ikm-audit", **kafka_client_options()
    )
    await consumer.start()
    try:
        available = await consumer.topics()
    finally:
        await consumer.stop()
    return [t for t in strangers if t not in available]
