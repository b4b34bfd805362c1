"""Committing a consumer's offsets: only processed records, at most once per interval.

A batch's offsets are noted once the batch has its effects (``processed``) and committed
together with whatever else is processed within ``interval`` seconds: one request to the
group coordinator per interval instead of one per batch, which for a consumer keeping pace
with a trickle (a batch or two of events per fetch) was a commit per event (on the embedded
broker ~0.9 ms of CPU each, client and broker; docs/performance.md, Latency, "Session 28").

Nothing acknowledged is lost: an offset names the record after the last one processed, and
it is committed only after that record's effect is stored. What a later commit costs is a
redelivery after a crash or a rebalance, which the inbox turns into no second effect. A
partition being revoked has its offsets committed first (``Revoked``); a commit that fails
(a rebalance under way, the broker gone) is dropped and logged: the records come again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

log = logging.getLogger("ikmkit.messaging.consumer")


class OffsetCommits:
    """The processed offsets of one subscriber's consumer, committed at most every
    ``interval`` seconds (0: after every batch, awaited, as FastStream's acknowledgement)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._consumer: Any = None
        self._pending: dict[TopicPartition, int] = {}
        self._due: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self._last = 0.0

    async def processed(self, consumer: Any, records: Iterable[Any]) -> None:
        """``records`` have their effects: their offsets may be committed."""
        self._consumer = consumer
        ends: dict[tuple[str, int], int] = {}
        for record in records:  # a partition's records come in order: its last is its end
            ends[record.topic, record.partition] = record.offset + 1
        pending = self._pending
        for (topic, partition), end in ends.items():
            tp = TopicPartition(topic, partition)
            pending[tp] = max(pending.get(tp, 0), end)  # a rewound batch ends lower
        wait = self._last + self.interval - time.monotonic()
        if wait <= 0:
            await self.flush()
        elif self._due is None:
            self._due = asyncio.get_running_loop().call_later(wait, self._flush_later)

    def _flush_later(self) -> None:
        self._due = None
        task = asyncio.create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit what is pending (of ``partitions`` only, if given) now."""
        if partitions is None:
            offsets, self._pending = self._pending, {}
            if self._due is not None:
                self._due.cancel()
                self._due = None
        else:
            taken = {tp: self._pending.pop(tp, None) for tp in partitions}
            offsets = {tp: offset for tp, offset in taken.items() if offset is not None}
        consumer = self._consumer
        if consumer is None or not offsets:
            return
        self._last = time.monotonic()
        assigned = consumer.assignment()  # a partition since revoked is someone else's now
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        try:
            if offsets:
                await consumer.commit(offsets)
        except Exception as exc:  # redelivered, and deduplicated by the inbox
            log.warning("consumer: offsets not committed, their records will come again: %r", exc)

    async def close(self) -> None:
        """Before the consumer stops: commit what is pending, and from now on each batch as
        soon as it is processed (the batch in hand, which a stop lets finish)."""
        self.interval = 0
        await self.flush()
        for task in list(self._flushing):
            with contextlib.suppress(Exception):
                await task


class Revoked(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits a partition's processed offsets before the group takes it away."""

    def __init__(self, commits: OffsetCommits) -> None:
        self._commits = commits

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._commits.flush(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        return None
