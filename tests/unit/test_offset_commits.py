"""``OffsetCommits``: which offsets a consumer commits for the records it processed, and when."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from ikmkit.messaging.offsets import OffsetCommits

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Consumer:
    def __init__(self, assigned: set[TopicPartition], fail: bool = False) -> None:
        self.assigned, self.fail = assigned, fail
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail:
            raise CommitFailedError("rebalancing")
        self.commits.append(dict(offsets))


def records(tp: TopicPartition, *offsets: int) -> list[Any]:
    return [SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=o) for o in offsets]


async def test_the_offset_after_each_partitions_last_processed_record() -> None:
    consumer = Consumer({A, B})
    commits = OffsetCommits(0)  # every batch, at once
    await commits.processed(consumer, records(A, 4, 5) + records(B, 9))
    await commits.processed(consumer, records(A, 6))
    assert consumer.commits == [{A: 6, B: 10}, {A: 7}]


async def test_batches_within_the_interval_are_committed_together() -> None:
    consumer = Consumer({A, B})
    commits = OffsetCommits(0.2)
    await commits.processed(consumer, records(A, 0))  # the first: nothing committed before
    for offset in range(1, 6):
        await commits.processed(consumer, records(A, offset) + records(B, offset))
    assert consumer.commits == [{A: 1}]
    await asyncio.sleep(0.3)
    assert consumer.commits == [{A: 1}, {A: 6, B: 6}]


async def test_a_partition_no_longer_assigned_is_not_committed() -> None:
    consumer = Consumer({B})
    commits = OffsetCommits(60)
    await commits.processed(consumer, records(B, 6))  # the first: at once
    await commits.processed(consumer, records(A, 3) + records(B, 7))  # held for the interval
    await commits.flush([A])
    assert consumer.commits == [{B: 7}]  # A was revoked before its offsets went out
    await commits.close()
    assert consumer.commits == [{B: 7}, {B: 8}]


async def test_a_failed_commit_is_dropped_not_raised() -> None:
    consumer = Consumer({A}, fail=True)
    commits = OffsetCommits(0)
    await commits.processed(consumer, records(A, 1))  # the records come again: no error here
    consumer.fail = False
    await commits.close()
    assert consumer.commits == []


async def test_once_closing_a_batch_finished_is_committed_at_once() -> None:
    consumer = Consumer({A})
    commits = OffsetCommits(60)
    await commits.processed(consumer, records(A, 0))
    await commits.processed(consumer, records(A, 1))  # held for the interval
    await commits.close()  # the service stops: what is held goes out
    await commits.processed(consumer, records(A, 2))  # the batch in hand, finished meanwhile
    assert consumer.commits == [{A: 1}, {A: 2}, {A: 3}]
