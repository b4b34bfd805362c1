"""A consumer commits the offsets of what it processed at most every ``KAFKA_COMMIT_INTERVAL_MS``,
not after every batch.

Each commit is a request to the group coordinator (on the embedded broker ~0.9 ms of CPU,
client and broker together): a consumer keeping pace with a steady trickle takes its events a
batch or two at a time and committed each, ~150-300 commits a second at 300 events/s. Offsets
still only ever name processed records (committed after the effect, never before), and a
commit later than the effect costs at most a redelivery, which the inbox deduplicates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from contracts.registry import ENTERPRISE_TOPIC
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.progress import ConsumerLagProbe
from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition as subsidy
from services.subsidy.settings import SubsidySettings
from tests.support.kafka import eventually
from tests.support.service import running_service
from tests.support.subsidy_replica import registered_through_kafka
from tests.support.values import random_nib


def _counting_commits(aiokafka_consumer: Any) -> list[Any]:
    """The offsets of every commit the subscriber's consumer makes from now on."""
    commits: list[Any] = []
    commit = aiokafka_consumer.commit

    async def counted(offsets: Any = None) -> None:
        commits.append(offsets)
        await commit(offsets)

    aiokafka_consumer.commit = counted
    return commits


async def _uncommitted(kafka: str, group: str) -> int:
    """Records of the registry's topic after ``group``'s committed offsets."""
    probe = ConsumerLagProbe(kafka)
    await probe.start()
    try:
        return sum((await probe.measure(group, [ENTERPRISE_TOPIC])).values())
    finally:
        await probe.stop()


async def test_a_trickle_of_events_is_committed_once_per_interval(
    kafka: str, tmp_path: Path
) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka, kafka_commit_interval_ms=1_000)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        await registered_through_kafka(kafka, s.runtime.store, [random_nib()], 30)
        await asyncio.sleep(1.5)  # the first event's commit is made
        (consumer,) = s.runtime.consumers
        commits = _counting_commits(consumer.subscriber.consumer)
        for _ in range(8):  # each its own batch: processed before the next is produced
            await registered_through_kafka(kafka, s.runtime.store, [random_nib()], 15)
        assert 1 <= len(commits) <= 4, f"{len(commits)} commits for 8 batches"

        async def all_committed() -> bool:
            return await _uncommitted(kafka, consumer.group) == 0

        await eventually(all_committed, 10)  # within the interval after the last batch


async def test_a_partition_taken_away_has_its_processed_offsets_committed_first(
    own_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    """With an interval far longer than the test, only the rebalance can commit: a second
    member joining makes the group take the first one's partitions back, and before it lets
    them go the first commits what it processed (else the new owner reads it all again).

    On a broker of its own: after a group of two members on the embedded broker, a later
    member's join did not complete (seen with the code before this test too), and later tests
    start the same group."""
    kafka = own_broker.bootstrap_servers
    settings = SubsidySettings(kafka_bootstrap_servers=kafka, kafka_commit_interval_ms=60_000)
    first = subsidy(settings, store=SqliteStore(tmp_path / "first.db"))
    async with running_service(first) as s:
        await asyncio.sleep(1.5)  # the first commit of a fresh member is not deferred
        await registered_through_kafka(kafka, s.runtime.store, [random_nib() for _ in range(6)], 30)
        (consumer,) = s.runtime.consumers
        # processed, not yet committed: the interval holds them
        assert await _uncommitted(kafka, consumer.group) > 0
        second = subsidy(settings, store=SqliteStore(tmp_path / "second.db"))
        async with running_service(second):

            async def all_committed() -> bool:
                return await _uncommitted(kafka, consumer.group) == 0

            await eventually(all_committed, 20)
