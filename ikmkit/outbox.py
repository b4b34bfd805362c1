"""Transactional outbox: events are stored with the state change and relayed to Kafka.

``Outbox.add`` runs inside the caller's unit of work, so the event commits or
rolls back together with the state change. It stamps the event with its
aggregate's next sequence number and extends the aggregate's hash chain.

``OutboxRelay`` publishes pending events in the order they were stored (hence
in sequence order per aggregate and Kafka key), then marks them sent. If the
process dies between publishing and marking, the events are published again on
restart: consumers deduplicate by event id (``ikmkit.inbox``). Only the holder
of a short lease relays, so several replicas of a service never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry import propagate, trace

from contracts.base import Event
from contracts.envelope import GENESIS_HASH, H_TRACEPARENT, EnvelopeAttributes
from ikmkit.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.store import RETRYABLE, CollectionSpec, DuplicateKey, Store, UnitOfWork

OUTBOX = "outbox"
OUTBOX_STREAMS = "outbox_streams"
LEASE_ID = "__relay_lease__"

OUTBOX_COLLECTIONS = (
    CollectionSpec(OUTBOX, indexes=[("sent", "created_ns", "sequence")]),
    CollectionSpec(OUTBOX_STREAMS),
)

log = logging.getLogger("ikmkit.outbox")
tracer = trace.get_tracer("ikmkit.outbox")

Signer = Callable[[str], str]
"""Signs an event's chain hash; returns the signature (base64)."""


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(H_TRACEPARENT)


class Outbox:
    """Adds events to the unit of work of a service whose events come from ``source``."""

    def __init__(self, source: str, *, signer: Signer | None = None) -> None:
        self.source = source
        self._signer = signer
        self._listeners: list[Callable[[], None]] = []

    def on_add(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def add(
        self,
        uow: UnitOfWork,
        event: Event,
        *,
        event_id: str | None = None,
        at: datetime | None = None,
    ) -> EnvelopeAttributes:
        stream_id = _stream_id(event)
        stream = await uow.get(OUTBOX_STREAMS, stream_id)
        attrs, row, head = self._stamp(event, stream, event_id, at, current_traceparent())
        await self._save_heads(uow, {stream_id: (stream, head)})
        await uow.insert(OUTBOX, row)
        self._notify()
        return attrs

    async def add_many(
        self, uow: UnitOfWork, events: Sequence[Event], *, at: datetime | None = None
    ) -> list[EnvelopeAttributes]:
        """Add many events in one go: one read and one write per stream, one bulk insert."""
        stream_ids = [_stream_id(e) for e in events]
        stored = await uow.get_many(OUTBOX_STREAMS, list(dict.fromkeys(stream_ids)))
        heads: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
        traceparent = current_traceparent()
        rows: list[dict[str, Any]] = []
        stamped: list[EnvelopeAttributes] = []
        for event, stream_id in zip(events, stream_ids, strict=True):
            original = stored.get(stream_id)
            current = (
                {**(original or {}), **heads[stream_id][1]} if stream_id in heads else original
            )
            attrs, row, head = self._stamp(event, current, None, at, traceparent)
            heads[stream_id] = (original, head)
            rows.append(row)
            stamped.append(attrs)
        await self._save_heads(uow, heads)
        await uow.insert_many(OUTBOX, rows)
        if rows:
            self._notify()
        return stamped

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def _stamp(
        self,
        event: Event,
        stream: dict[str, Any] | None,
        event_id: str | None,
        at: datetime | None,
        traceparent: str | None,
    ) -> tuple[EnvelopeAttributes, dict[str, Any], dict[str, Any]]:
        """The event's envelope, its outbox row and its stream's new head."""
        sequence = 1 if stream is None else int(stream["sequence"]) + 1
        previous_hash = GENESIS_HASH if stream is None else str(stream["hash"])
        payload = event_payload(event)
        unsigned = EnvelopeAttributes(
            id=event_id or str(uuid.uuid4()),
            type=event.ce_type(),
            source=self.source,
            time=at or datetime.now(UTC),
            subject=event.aggregate_id(),
            region=event.region(),
            sequence=sequence,
            hash="",
            traceparent=traceparent,
        )
        digest = chain_hash(previous_hash, unsigned, payload)
        signature = self._signer(digest) if self._signer else None
        attrs = unsigned.model_copy(update={"hash": digest, "signature": signature})
        # The relay publishes in created_ns order: keep it increasing along each stream even
        # when replicas' clocks disagree, so an aggregate's events are published in sequence.
        created_ns = time.time_ns()
        if stream is not None:
            created_ns = max(created_ns, int(stream.get("created_ns", 0)) + 1)
        row = {
            "id": attrs.id,
            "topic": event.TOPIC,
            "key": attrs.subject,
            "headers": {k: v.decode() for k, v in to_headers(attrs)},
            "payload": payload,
            "created_ns": created_ns,
            "sequence": sequence,
            "sent": False,
        }
        return attrs, row, {"sequence": sequence, "hash": digest, "created_ns": created_ns}

    async def _save_heads(
        self,
        uow: UnitOfWork,
        heads: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]],
    ) -> None:
        """Write each stream's new head over the version that was read (optimistic)."""
        fresh = [{"id": sid, **head} for sid, (stored, head) in heads.items() if stored is None]
        if fresh:
            await uow.insert_many(OUTBOX_STREAMS, fresh)
        for stored, head in heads.values():
            if stored is not None:
                await uow.replace(OUTBOX_STREAMS, {**stored, **head})


def _stream_id(event: Event) -> str:
    return f"{event.TOPIC}|{event.aggregate_id()}"


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class Publisher(Protocol):
    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish all messages, preserving order per key; raise if any failed."""
        ...


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_seconds: float


async def outbox_backlog(store: Store) -> Backlog:
    async with store.transaction() as uow:
        pending = await uow.count(OUTBOX, {"sent": False})
        oldest = await uow.find(
            OUTBOX, {"sent": False}, order_by=[("created_ns", 1), ("sequence", 1)], limit=1
        )
    age = (time.time_ns() - int(oldest.items[0]["created_ns"])) / 1e9 if oldest.items else 0.0
    return Backlog(pending=pending, oldest_age_seconds=max(age, 0.0))


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
        coalesce_seconds: float = 0.005,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._lease_seconds = lease_seconds
        self._owner = owner or str(uuid.uuid4())
        self._coalesce = coalesce_seconds
        self._lease_held_until = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published_total = 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published = 0
                await asyncio.sleep(1.0)
            if published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                self._wake.clear()
                # Let concurrent requests' commits pile up: one pass relays them all.
                await asyncio.sleep(self._coalesce)

    async def publish_pending(self) -> int:
        """One relay pass: publish up to a batch of pending events and mark them sent."""
        if not await self._hold_lease():
            return 0
        async with self._store.transaction() as uow:
            page = await uow.find(
                OUTBOX,
                {"sent": False},
                order_by=[("created_ns", 1), ("sequence", 1)],
                limit=self._batch_size,
            )
        if not page.items:
            return 0
        await self._publisher.publish_batch([_message(row) for row in page.items])
        await self._mark_sent([row["id"] for row in page.items])
        self.published_total += len(page.items)
        return len(page.items)

    async def _mark_sent(self, ids: list[str]) -> None:
        async with self._store.transaction() as uow:
            await uow.patch_many(OUTBOX, ids, {"sent": True, "sent_ns": time.time_ns()})

    async def _hold_lease(self) -> bool:
        now = time.time()
        if self._lease_held_until - now > self._lease_seconds / 2:
            return True  # ours, and nobody else may take it before it runs out
        try:
            async with self._store.transaction() as uow:
                held_until = await self._claim_lease(uow, now)
        except (*RETRYABLE, DuplicateKey):
            return False
        self._lease_held_until = held_until
        return held_until > now

    async def _claim_lease(self, uow: UnitOfWork, now: float) -> float:
        """Take or renew the lease; returns until when we hold it (0 if someone else does)."""
        lease = await uow.get(OUTBOX_STREAMS, LEASE_ID)
        expires = now + self._lease_seconds
        if lease is None:
            await uow.insert(
                OUTBOX_STREAMS, {"id": LEASE_ID, "owner": self._owner, "expires": expires}
            )
            return expires
        if lease["owner"] != self._owner and float(lease["expires"]) > now:
            return 0.0
        await uow.replace(OUTBOX_STREAMS, {**lease, "owner": self._owner, "expires": expires})
        return expires


def _message(row: dict[str, Any]) -> OutgoingMessage:
    headers = dict(row["headers"])
    with tracer.start_as_current_span(
        f"{row['topic']} publish",
        context=propagate.extract(headers),
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": row["topic"],
            "messaging.message.id": row["id"],
        },
    ):
        traceparent = current_traceparent()
    if traceparent:
        headers[H_TRACEPARENT] = traceparent
    return OutgoingMessage(
        topic=row["topic"],
        key=str(row["key"]).encode(),
        value=str(row["payload"]).encode(),
        headers=[(k, v.encode()) for k, v in headers.items()],
    )
