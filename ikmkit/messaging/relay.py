"""The outbox relay: publishes pending events in store order and keeps the log whole.

Each pass reads one page of pending rows (one query) and hands it to the
publisher, which reports every message's outcome:

- published: the row is marked sent with the partition and offset it landed at,
  and is never published again because of a later failure;
- refused for good (too large, invalid record): the row is *parked* with its
  reason, and only the later rows of its own stream wait behind it (``held``);
- failed for now (broker unreachable): the row stays pending; the publisher never
  sends a stream's later rows after an earlier one failed, so order holds.

The relay also checks that the log still holds what it published (at start,
after a failed publish, and every ``verify_interval`` seconds) and republishes a
lost topic partition from the outbox (``ikmkit.messaging.outbox_log``). If the process
dies between publishing and marking, the events are published again on restart:
consumers deduplicate by event id (``ikmkit.messaging.inbox``). Only the holder of a short
lease relays, so several replicas of a service never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import Counter, Gauge

from ikmkit.lease import Lease
from ikmkit.messaging.outbox import (
    LEASE_ID,
    OUTBOX,
    OUTBOX_STREAMS,
    Publisher,
    PublishResult,
    publish_rows,
    row_stream,
)
from ikmkit.messaging.outbox_log import (
    LogCheck,
    LogProbe,
    load_marks,
    new_marks,
    republish,
    save_marks,
)
from ikmkit.messaging.outbox_parking import (
    park_fields,
    parked_count,
    parked_streams,
    release_orphans,
    sent_fields,
)
from ikmkit.store import Store
from ikmkit.telemetry import metrics

log = logging.getLogger("ikmkit.messaging.outbox")

STOP_GRACE = 5.0
"""Seconds a stop waits for the pass in flight to record what it published."""

OUTBOX_PARKED = Gauge(
    "ikm_outbox_parked", "Outbox events parked: the broker refuses them as they are", ["service"]
)
OUTBOX_REPUBLISHED = Counter(
    "ikm_outbox_republished_total",
    "Published events marked for publication again because the log lost them",
    ["service", "topic"],
)
OUTBOX_PUBLISH_FAILED = Counter(
    "ikm_outbox_publish_failed_total", "Relay attempts that failed, by kind", ["service", "kind"]
)


class OutboxRelay:
    """Publishes the outbox in store order; one leaseholder per service at a time."""

    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        *,
        batch_size: int = 1000,
        poll_interval: float = 0.1,
        lease_seconds: float = 10.0,
        owner: str | None = None,
        log_probe: LogProbe | None = None,
        topics: Iterable[str] = (),
        verify_interval: float = 5.0,
        service: str = "",
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._lease = Lease(store, OUTBOX_STREAMS, LEASE_ID, seconds=lease_seconds, owner=owner)
        self._probe = log_probe
        self._topics = sorted(set(topics))
        self._verify_interval = verify_interval
        self._service = service
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._parked: set[str] | None = None  # streams with a parked row; None: not loaded
        self._verify_due = True
        self._next_verify = 0.0
        self._failing = False
        self.published_total = 0
        self.last_check: LogCheck | None = None

    def wake(self) -> None:
        self._wake.set()

    def watch_topics(self, topics: Iterable[str]) -> None:
        """Topics to (re)create whenever the log is checked: the service's own and consumed."""
        self._topics = sorted({*self._topics, *topics})

    def released(self, stream: str) -> None:
        """A parked row of ``stream`` was published by an operator's retry."""
        if self._parked is not None:
            self._parked.discard(stream)
        self.wake()

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        if self._probe is not None:
            await self._probe.ensure_topics(topics)

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Let a pass in flight finish (what it published is then recorded as sent, not sent
        again at the next start as a duplicate on the log), within ``STOP_GRACE`` seconds;
        then cancel."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await asyncio.wait({self._task}, timeout=STOP_GRACE)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Bounded, each on its own: a stop must never hang, and a slow probe must not keep
        # the lease from being handed back.
        if self._probe is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._probe.stop(), 5)
        with contextlib.suppress(Exception):  # a replacement need not wait for it to run out
            await asyncio.wait_for(self._lease.release(), 5)

    async def _run(self) -> None:
        keeping = asyncio.create_task(self._lease.keep())  # a pass longer than the lease
        try:
            await self._relay()
        finally:
            keeping.cancel()

    async def _relay(self) -> None:
        """Relay on every commit (``wake``), at once and while there is more; poll as a fallback.

        No waiting to batch: what commits while a pass is publishing is relayed together by
        the next pass, so batches grow with the load and a lone event goes out immediately."""
        while not self._stopping:
            self._wake.clear()  # a commit from here on wakes the next pass
            try:
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published = 0
                self._verify_due = True
                await asyncio.sleep(1.0)
            if self._failing:
                await asyncio.sleep(1.0)  # the broker is unreachable: don't spin
            elif published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                # Commits made ready in this same loop iteration join this pass (no timer).
                await asyncio.sleep(0)

    async def publish_pending(self) -> int:
        """One relay pass: publish up to a batch of pending events and record each outcome."""
        if not await self._hold_lease():
            return 0
        await self._maintain()
        async with self._store.transaction() as uow:
            page = await uow.find(
                OUTBOX,
                {"sent": False, "held": None},
                order_by=[("created_ns", 1), ("sequence", 1)],
                limit=self._batch_size,
            )
        if not page.items:
            self._failing = False
            return 0
        parked = self._parked if self._parked is not None else set()
        waiting = [row for row in page.items if row_stream(row) in parked]
        rows = [row for row in page.items if row_stream(row) not in parked]
        results = await publish_rows(self._publisher, rows)
        return await self._record(rows, results, waiting)

    async def _record(
        self,
        rows: Sequence[dict[str, Any]],
        results: Sequence[PublishResult],
        waiting: list[dict[str, Any]],
    ) -> int:
        parked = self._parked if self._parked is not None else set()
        sent, newly_parked, transient = _classify(rows, results, parked)
        held = [r["id"] for r in waiting] + [
            r["id"] for r, _ in transient if row_stream(r) in parked
        ]
        async with self._store.transaction() as uow:
            await uow.patch_each(OUTBOX, {**sent, **newly_parked})
            await uow.patch_many(OUTBOX, held, {"held": True})
            regressed = await save_marks(uow, new_marks(*_published(rows, results)))
        self._parked = parked
        self.published_total += len(sent)
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(sent))
        if newly_parked:
            OUTBOX_PUBLISH_FAILED.labels(self._service, "parked").inc(len(newly_parked))
            OUTBOX_PARKED.labels(self._service).set(await parked_count(self._store))
        self._note_failures([r for r in transient if row_stream(r[0]) not in parked])
        if regressed:
            # The log was emptied under us, or a former leaseholder's late pass: the probe
            # compares the kept marks with the log before anything is republished.
            log.warning("outbox: offsets went backwards on %s; checking the log", sorted(regressed))
            self._verify_due = True
        return len(sent)

    def _note_failures(self, transient: list[tuple[dict[str, Any], PublishResult]]) -> None:
        self._failing = bool(transient)
        if transient:
            self._verify_due = True
            OUTBOX_PUBLISH_FAILED.labels(self._service, "transient").inc(len(transient))
            log.warning(
                "outbox: %d events not published, retrying: %s",
                len(transient),
                transient[0][1].error,
            )

    async def _maintain(self) -> None:
        """Reload parked streams and check the log when due (at start, after failures, timed)."""
        if not self._verify_due and time.monotonic() < self._next_verify:
            return
        self._next_verify = time.monotonic() + self._verify_interval
        self._parked = await parked_streams(self._store)
        released = await release_orphans(self._store, self._parked)
        if released:
            log.info("outbox: released %d held events whose parked event was retried", released)
        OUTBOX_PARKED.labels(self._service).set(await parked_count(self._store))
        if self._probe is None:
            self._verify_due = False
            return
        try:
            await self.verify_log()
        except Exception as exc:  # the publisher will tell whether the broker is gone
            log.warning("outbox: could not check the log: %r", exc)
            return
        self._verify_due = False

    async def verify_log(self) -> LogCheck:
        """Check the log holds what was published; recreate topics and republish what it lost."""
        if self._probe is None:
            return LogCheck()
        check = await self._probe.check(await load_marks(self._store), self._topics)
        self.last_check = check
        if not check.clean:
            await self._restore(check, "the log no longer holds it")
        return check

    async def _restore(self, check: LogCheck, reason: str) -> None:
        await self.ensure_topics({*check.missing_topics, *(t for t, _ in check.lost)})
        for topic in sorted(check.missing_topics):
            count = await republish(self._store, topic, reason=f"topic {topic} is gone")
            OUTBOX_REPUBLISHED.labels(self._service, topic).inc(count)
        partitions: dict[str, set[int]] = {}
        for topic, partition in check.lost:
            if topic not in check.missing_topics:
                partitions.setdefault(topic, set()).add(partition)
        for topic, lost in sorted(partitions.items()):
            count = await republish(self._store, topic, lost, reason=reason)
            OUTBOX_REPUBLISHED.labels(self._service, topic).inc(count)
        self.wake()

    async def _hold_lease(self) -> bool:
        if not await self._lease.held():
            return False
        if self._lease.gained:
            self._verify_due = True  # newly ours: another relay may have parked or published
        return True


def _classify(
    rows: Sequence[dict[str, Any]], results: Sequence[PublishResult], parked: set[str]
) -> tuple[
    dict[str, dict[str, Any]],
    dict[str, dict[str, Any]],
    list[tuple[dict[str, Any], PublishResult]],
]:
    """Fields of the sent rows, fields of the newly parked rows (adding their streams to
    ``parked``), and the rows that failed for now."""
    now = time.time_ns()
    sent: dict[str, dict[str, Any]] = {}
    newly_parked: dict[str, dict[str, Any]] = {}
    transient: list[tuple[dict[str, Any], PublishResult]] = []
    for row, result in zip(rows, results, strict=True):
        if result.ok:
            sent[row["id"]] = sent_fields(result, now)
        elif result.permanent:
            newly_parked[row["id"]] = park_fields(result)
            parked.add(row_stream(row))
            log.error(
                "outbox: parked event %s (%s, stream %s, sequence %s): %s",
                row["id"], row["topic"], row["key"], row["sequence"], result.error,
            )  # fmt: skip
        else:
            transient.append((row, result))
    return sent, newly_parked, transient


def _published(
    rows: Sequence[dict[str, Any]], results: Sequence[PublishResult]
) -> tuple[list[dict[str, Any]], list[PublishResult]]:
    pairs = [(row, result) for row, result in zip(rows, results, strict=True) if result.ok]
    return [row for row, _ in pairs], [result for _, result in pairs]
