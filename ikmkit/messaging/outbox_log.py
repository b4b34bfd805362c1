"""Restoring a lost log from the outbox.

The outbox keeps every event it published with the partition and offset it
landed at. For each topic partition the relay also keeps a *mark*: the offset
and event id of the first record of the last record batch it wrote there (the
first record, because some brokers report a batch's end offset as its base
offset + 1). The log is lost when a mark no longer holds: the topic is gone,
the partition ends at or before the mark, or another event sits at the marked
offset (a broker that restarted empty and took new records since).

Restoring a lost topic partition marks its published rows unsent again: the
relay republishes them in their original order, and consumers deduplicate by
event id. Nothing here is specific to the embedded broker: an operator who
deleted a topic on a real cluster gets it back the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ikmkit.messaging.outbox import OUTBOX, OUTBOX_LOG, PublishResult
from ikmkit.store import In, Store, Transaction

log = logging.getLogger("ikmkit.messaging.outbox")

RESTORE_CHUNK = 1000


@dataclass(frozen=True)
class LogMark:
    topic: str
    partition: int
    offset: int
    event_id: str

    @property
    def id(self) -> str:
        return f"{self.topic}|{self.partition}"


@dataclass(frozen=True)
class LogCheck:
    missing_topics: set[str] = field(default_factory=set)
    lost: set[tuple[str, int]] = field(default_factory=set)
    """Topic partitions whose records the log no longer holds."""

    @property
    def clean(self) -> bool:
        return not self.missing_topics and not self.lost


class LogProbe(Protocol):
    async def check(self, marks: Sequence[LogMark], topics: Iterable[str]) -> LogCheck: ...

    async def ensure_topics(self, topics: Iterable[str]) -> None: ...

    async def stop(self) -> None: ...


async def load_marks(store: Store) -> list[LogMark]:
    async with store.transaction() as uow:
        docs = (await uow.find(OUTBOX_LOG, {}, limit=100_000)).items
    return [LogMark(d["topic"], int(d["partition"]), int(d["offset"]), d["event_id"]) for d in docs]


def new_marks(
    rows: Sequence[dict[str, Any]], results: Sequence[PublishResult]
) -> dict[str, LogMark]:
    """Per topic partition, the first record of the last batch written in this pass."""
    firsts: dict[tuple[str, int, int], str] = {}
    for row, result in zip(rows, results, strict=True):
        if result.ok and result.offset is not None and result.offset == result.batch_offset:
            assert result.partition is not None
            firsts[(row["topic"], result.partition, result.offset)] = row["id"]
    latest: dict[str, LogMark] = {}
    for (topic, partition, offset), event_id in firsts.items():
        mark = LogMark(topic, partition, offset, event_id)
        if mark.id not in latest or latest[mark.id].offset < offset:
            latest[mark.id] = mark
    return latest


async def save_marks(uow: Transaction, marks: dict[str, LogMark]) -> set[tuple[str, int]]:
    """Store the pass's marks; returns the partitions whose offsets went backwards.

    A partition whose new offsets are not past its stored mark may have been
    emptied under the relay (the broker restarted): its stored mark is kept, so
    the loss is not papered over, and the caller has the log checked.
    """
    stored = await uow.get_many(OUTBOX_LOG, list(marks))
    regressed: set[tuple[str, int]] = set()
    for mark_id, mark in marks.items():
        doc = {"id": mark_id, **_fields(mark)}
        previous = stored.get(mark_id)
        if previous is None:
            await uow.insert(OUTBOX_LOG, doc)
        elif int(previous["offset"]) >= mark.offset:
            regressed.add((mark.topic, mark.partition))
        else:
            await uow.replace(OUTBOX_LOG, {**doc, "version": previous["version"]})
    return regressed


def _fields(mark: LogMark) -> dict[str, Any]:
    return {
        "topic": mark.topic,
        "partition": mark.partition,
        "offset": mark.offset,
        "event_id": mark.event_id,
    }


async def republish(
    store: Store, topic: str, partitions: Iterable[int] | None = None, *, reason: str
) -> int:
    """Mark the topic's published rows (of ``partitions``, or all) unsent; returns how many."""
    where: dict[str, Any] = {"topic": topic, "sent": True}
    if partitions is not None:
        where["partition"] = In(sorted(set(partitions)))
    total = 0
    now = time.time_ns()
    while True:
        async with store.transaction() as uow:
            page = await uow.find(OUTBOX, where, order_by=[("created_ns", 1)], limit=RESTORE_CHUNK)
            ids = [row["id"] for row in page.items]
            await uow.patch_many(OUTBOX, ids, {"sent": False, "republished_ns": now})
            if not page.next_cursor:
                await _forget_marks(uow, topic, partitions)
        total += len(ids)
        if not page.next_cursor:
            break
    log.warning(
        "outbox: republishing %d events of %s (partitions %s): %s",
        total,
        topic,
        "all" if partitions is None else sorted(set(partitions)),
        reason,
    )
    return total


async def _forget_marks(uow: Transaction, topic: str, partitions: Iterable[int] | None) -> None:
    where: dict[str, Any] = {"topic": topic}
    if partitions is not None:
        where["partition"] = In(sorted(set(partitions)))
    for doc in (await uow.find(OUTBOX_LOG, where, limit=100_000)).items:
        await uow.delete(OUTBOX_LOG, doc["id"])
