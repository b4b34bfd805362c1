"""Consumer lag and stalls: how far each group is behind, and whether it still moves.

``ConsumerLagProbe`` reads, per partition, the end offset and the group's
committed offset (metadata only; it never joins a group). ``watch_consumers``
measures every consumer group of the service periodically, exports the lag
gauge and feeds ``ConsumerProgress``, which calls a partition *stalled* when the
group has messages pending there (lag > 0) and its committed offset has not
moved for ``stall_seconds``. /readyz fails on a stalled partition of this
replica's assignment (``ikmkit.service.health``), naming the group and partitions.

Lag is measured over every partition of the group's topics, not only this
replica's assignment, so every replica reports the same lag numbers: aggregate
with ``max by (group, topic, partition)``. Stalls are judged only on the
partitions this replica holds, so one stuck replica is the one that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from ikmkit.messaging.kafka_security import kafka_client_options
from ikmkit.messaging.metadata import fresh_cluster, partitions_in
from ikmkit.telemetry import metrics

if TYPE_CHECKING:
    from ikmkit.messaging.consumer import EventConsumer
    from ikmkit.service.runtime import Runtime

log = logging.getLogger("ikmkit.messaging.progress")

LAG_INTERVAL_SECONDS = 15.0
MEASURE_TIMEOUT_SECONDS = 10.0

Partition = tuple[str, int]


@dataclass(frozen=True)
class PartitionOffsets:
    position: int  # the group's committed offset (or the log start if nothing committed)
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.position, 0)


class ConsumerLagProbe:
    """Measures how far consumer groups are behind the end of their partitions.

    Lag of a partition = its end offset minus the group's committed offset (or
    minus the log start when the group has committed nothing yet).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "ikm-lag-probe",
        security: dict[str, Any] | None = None,
    ) -> None:
        options = kafka_client_options() if security is None else security
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, client_id=client_id, **options
        )
        # No group_id: this consumer only reads offsets, it never joins or commits.
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            enable_auto_commit=False,
            **options,
        )

    async def start(self) -> None:
        await self._admin.start()
        await self._offsets.start()

    async def stop(self) -> None:
        await self._offsets.stop()
        await self._admin.close()

    async def offsets(self, group: str, topics: Sequence[str]) -> dict[Partition, PartitionOffsets]:
        """Committed position and end offset per (topic, partition) of ``group`` on ``topics``."""
        # Fresh metadata each time: topics and partitions may have been added since the last
        # measurement.
        partitions = partitions_in(await fresh_cluster(self._offsets), topics)
        if not partitions:
            return {}
        ends = await self._offsets.end_offsets(partitions)
        starts = await self._offsets.beginning_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
        found: dict[Partition, PartitionOffsets] = {}
        for tp in partitions:
            mark = committed.get(tp)
            position = max(mark.offset if mark is not None else -1, starts[tp])
            found[(tp.topic, tp.partition)] = PartitionOffsets(position, ends[tp])
        return found

    async def measure(self, group: str, topics: Sequence[str]) -> dict[Partition, int]:
        """Lag per (topic, partition) of ``group`` on ``topics``."""
        return {tp: o.lag for tp, o in (await self.offsets(group, topics)).items()}


@dataclass(frozen=True)
class Stall:
    group: str
    topic: str
    partition: int
    lag: int
    committed: int
    seconds: float

    def describe(self) -> str:
        return (
            f"{self.group} {self.topic}[{self.partition}]: {self.lag} pending at offset "
            f"{self.committed}, no progress for {self.seconds:.0f}s"
        )


@dataclass
class _Watch:
    offsets: PartitionOffsets
    since: float  # when the committed offset was last seen to move (or lag to appear)


@dataclass
class ConsumerProgress:
    """Remembers since when each pending partition's committed offset has not moved."""

    stall_seconds: float = 120.0
    clock: Callable[[], float] = time.monotonic
    _watches: dict[str, dict[Partition, _Watch]] = field(default_factory=dict)

    def observe(
        self,
        group: str,
        offsets: dict[Partition, PartitionOffsets],
        assigned: set[Partition] | None = None,
    ) -> None:
        """Record a measurement; ``assigned``: this replica's partitions (None: all of them)."""
        now = self.clock()
        before = self._watches.get(group, {})
        after: dict[Partition, _Watch] = {}
        for tp, current in offsets.items():
            if current.lag == 0 or (assigned is not None and tp not in assigned):
                continue
            previous = before.get(tp)
            if previous is None or previous.offsets.position != current.position:
                after[tp] = _Watch(current, now)
            else:
                after[tp] = _Watch(current, previous.since)
        self._watches[group] = after

    def stalled(self) -> list[Stall]:
        now = self.clock()
        return [
            Stall(group, tp[0], tp[1], w.offsets.lag, w.offsets.position, now - w.since)
            for group, watches in sorted(self._watches.items())
            for tp, w in sorted(watches.items())
            if now - w.since >= self.stall_seconds
        ]


def assigned_partitions(consumer: EventConsumer[Any]) -> set[Partition] | None:
    """The partitions this replica's subscriber holds (None: not known, e.g. not running)."""
    client = getattr(consumer.subscriber, "consumer", None)
    if client is None:
        return None
    try:
        return {(tp.topic, tp.partition) for tp in client.assignment()}
    except Exception:  # not subscribed (yet): judge every partition
        return None


def watch_interval(stall_seconds: float) -> float:
    """Often enough to notice a stall within about a quarter of its threshold."""
    return max(0.5, min(LAG_INTERVAL_SECONDS, stall_seconds / 4))


async def watch_consumers(runtime: Runtime) -> None:
    """Export every group's lag and feed ``runtime.progress``, until cancelled."""
    interval = watch_interval(runtime.progress.stall_seconds)
    probe = await _started_probe(runtime, interval)
    try:
        while True:
            for consumer in runtime.consumers:
                await _measure_one(probe, runtime.progress, consumer)
            await asyncio.sleep(interval)
    finally:
        await probe.stop()


async def _started_probe(runtime: Runtime, interval: float) -> ConsumerLagProbe:
    """A started probe, however long the broker takes to answer: a start that failed once
    (a broker restarting as the service starts) must not end the watcher, or the replica
    reports no lag and /readyz sees no stall for the rest of its life."""
    while True:
        probe = ConsumerLagProbe(
            runtime.settings.kafka_bootstrap_servers,
            client_id=f"ikm-{runtime.name}-lag",
            security=kafka_client_options(runtime.settings),
        )
        try:
            await probe.start()
            return probe
        except Exception as exc:
            log.warning("consumer lag watcher not started, retrying: %r", exc)
            with contextlib.suppress(Exception):
                await probe.stop()
        await asyncio.sleep(interval)


async def _measure_one(
    probe: ConsumerLagProbe, progress: ConsumerProgress, consumer: EventConsumer[Any]
) -> None:
    try:
        offsets = await asyncio.wait_for(
            probe.offsets(consumer.group, consumer.topics), MEASURE_TIMEOUT_SECONDS
        )
    except Exception as exc:  # a broker hiccup must not kill the watcher
        log.warning("consumer lag of %s not measured: %r", consumer.group, exc)
        return
    for (topic, partition), offs in offsets.items():
        metrics.CONSUMER_LAG.labels(consumer.group, topic, str(partition)).set(offs.lag)
    progress.observe(consumer.group, offsets, assigned_partitions(consumer))
