"""Transactional outbox: events are stored with the state change and relayed to Kafka.

``Outbox.add`` runs inside the caller's unit of work, so the event commits or
rolls back together with the state change. It stamps the event with its
aggregate's next sequence number and extends the aggregate's hash chain.

The relay (``ikmkit.messaging.relay``) publishes pending events in the order they were
stored (hence in sequence order per aggregate and Kafka key) and records where
each landed. A published row is kept: it is what restores a lost log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from opentelemetry.trace import Span, get_current_span

from contracts.base import Event
from contracts.chain import CANON_RFC8785, signed_message
from contracts.envelope import GENESIS_HASH, H_TRACEPARENT, EnvelopeAttributes
from contracts.schema import dataschema_of
from ikmkit.messaging.cloudevents import chain_hash_of, event_payload, header_text
from ikmkit.store import CollectionSpec, Columns, Store, Transaction
from ikmkit.telemetry.otel import end_send_span, start_send_span, traceparent_of

OUTBOX = "outbox"
OUTBOX_STREAMS = "outbox_streams"
OUTBOX_LOG = "outbox_log"
"""Per topic partition: the last record batch the relay wrote there (to notice a lost log)."""
LEASE_ID = "__relay_lease__"

OUTBOX_ROW_COLUMNS = Columns(
    fields=(
        *("topic", "key", "created_ns", "sequence", "sent", "sent_ns", "partition", "offset"),
        *("held", "parked", "parked_reason", "parked_at", "retries", "republished_ns"),
        "payload",  # text, not a string escaped into the document and parsed back per read
    ),
    flags=("sent", "held", "parked"),
    # Partial indexes: a row costs an entry only while pending (the relay's page, the
    # backlog), once sent (republishing a lost partition), or while held or parked (rare).
    indexes=(
        (("created_ns", "sequence", "id"), {"sent": False}),
        (("topic", "partition", "created_ns"), {"sent": True}),
        (("id",), {"held": True}),
        (("id",), {"parked": True}),
    ),
)
"""Where a store keeps columns (SQLite), the outbox row's fields the relay, its views and
the audit filter by or write, beside the document (id, headers, payload)."""

OUTBOX_COLLECTIONS = (
    CollectionSpec(
        OUTBOX,
        indexes=[
            ("sent", "created_ns", "sequence"),
            ("topic", "partition"),
            ("held", "topic", "key"),
            ("parked",),
        ],
        columns=OUTBOX_ROW_COLUMNS,
    ),
    CollectionSpec(OUTBOX_STREAMS),
    CollectionSpec(OUTBOX_LOG),
)

log = logging.getLogger("ikmkit.messaging.outbox")

Signer = Callable[[str], str]
"""Signs a text (an event's ``contracts.chain.signed_message``); returns the signature (base64)."""


def current_traceparent() -> str | None:
    """The ``traceparent`` the global propagator writes for the current span."""
    return traceparent_of(get_current_span())


class Outbox:
    """Adds events to the unit of work of a service whose events come from ``source``."""

    def __init__(self, source: str, *, signer: Signer | None = None) -> None:
        self.source = source
        self._signer = signer
        self._listeners: list[Callable[[], None]] = []

    def on_add(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` when a unit of work that added events has committed (the relay's
        wake-up; ``Units`` reports the commit through ``committed``)."""
        self._listeners.append(listener)

    def committed(self) -> None:
        """Events added in a transaction are committed: they can be relayed now."""
        for listener in self._listeners:
            listener()

    async def add(
        self,
        uow: Transaction,
        event: Event,
        *,
        event_id: str | None = None,
        at: datetime | None = None,
    ) -> EnvelopeAttributes:
        sid = stream_id(event)
        stream = await uow.get(OUTBOX_STREAMS, sid)
        attrs, row, head = self._stamp(event, stream, event_id, at, current_traceparent())
        await self._save_heads(uow, {sid: (stream, head)})
        await uow.insert(OUTBOX, row)
        return attrs

    async def add_many(
        self,
        uow: Transaction,
        events: Sequence[Event],
        *,
        at: datetime | None = None,
        new_streams: Collection[str] = (),
    ) -> list[EnvelopeAttributes]:
        """Add many events in one go: one read and one write per stream, one bulk insert.
        ``new_streams``: streams of aggregates the caller found absent in this transaction
        (a registration): not read, they start at sequence 1 from the genesis hash, and the
        head's insert is what refuses one that exists (``DuplicateKey``, as a racing writer's
        would), so no stream ever gets a second chain."""
        stream_ids = [stream_id(e) for e in events]
        unread = [s for s in dict.fromkeys(stream_ids) if s not in new_streams]
        stored = await uow.get_many(OUTBOX_STREAMS, unread) if unread else {}
        heads: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
        traceparent = current_traceparent()
        rows: list[dict[str, Any]] = []
        stamped: list[EnvelopeAttributes] = []
        for event, sid, event_id in zip(events, stream_ids, event_ids(len(events)), strict=True):
            original = stored.get(sid)
            current = {**(original or {}), **heads[sid][1]} if sid in heads else original
            attrs, row, head = self._stamp(event, current, event_id, at, traceparent)
            heads[sid] = (original, head)
            rows.append(row)
            stamped.append(attrs)
        await self._save_heads(uow, heads)
        await uow.insert_many(OUTBOX, rows)
        return stamped

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
        attrs = self._chained_envelope(
            event, payload, sequence, previous_hash, event_id, at, traceparent
        )
        created_ns = _next_created_ns(stream)
        row = {
            "id": attrs.id,
            "topic": event.TOPIC,
            "key": attrs.subject,
            "headers": header_text(attrs),
            "payload": payload,
            "created_ns": created_ns,
            "sequence": sequence,
            "sent": False,
        }
        return attrs, row, {"sequence": sequence, "hash": attrs.hash, "created_ns": created_ns}

    def _chained_envelope(
        self,
        event: Event,
        payload: str,
        sequence: int,
        previous_hash: str,
        event_id: str | None,
        at: datetime | None,
        traceparent: str | None,
    ) -> EnvelopeAttributes:
        """The envelope with its chain hash, its predecessor's hash (``ce_prevhash``, so a
        reader recomputes the hash from this event alone) and, if this outbox signs, the
        signature of both (``contracts.chain.signed_message``).

        What ``envelope_for`` and ``chain_hash`` give, built once: the hash is taken over the
        very values the envelope then holds (pydantic keeps str, int and datetime as given)."""
        ce_type, dataschema = _type_facts(type(event))
        time = at or datetime.now(UTC)
        envelope: dict[str, Any] = {
            "id": event_id or str(uuid.uuid4()),
            "region": event.region(),
            "sequence": sequence,
            "source": self.source,
            "subject": event.aggregate_id(),
            "time": time,
            "type": ce_type,
        }
        hashed = {**envelope, "time": time.isoformat()}
        digest = chain_hash_of(previous_hash, hashed, payload.encode())
        signer = self._signer
        return EnvelopeAttributes(
            **envelope,
            hash=digest,
            signature=signer(signed_message(digest, previous_hash).decode()) if signer else None,
            traceparent=traceparent,
            dataschema=dataschema,
            hashcanon=CANON_RFC8785,
            prevhash=previous_hash,
        )

    async def _save_heads(
        self,
        uow: Transaction,
        heads: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]],
    ) -> None:
        """Write each stream's new head over the version that was read (optimistic)."""
        fresh = [{"id": sid, **head} for sid, (stored, head) in heads.items() if stored is None]
        if fresh:
            await uow.insert_many(OUTBOX_STREAMS, fresh)
        for stored, head in heads.values():
            if stored is not None:
                await uow.replace(OUTBOX_STREAMS, {**stored, **head})


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & (2**128 - 1)
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def event_ids(count: int) -> list[str]:
    """``count`` new ``str(uuid.uuid4())``s from one read of the system's randomness (the
    same bits set as ``uuid.UUID(version=4)`` sets; a fifth of the time per id)."""
    raw = os.urandom(16 * count)
    ids = []
    for at in range(0, 16 * count, 16):
        h = f"{int.from_bytes(raw[at : at + 16]) & _V4_CLEAR | _V4_SET:032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


@cache
def _type_facts(model: type[Event]) -> tuple[str, str]:
    """The CloudEvents type and dataschema of an event class (as ``envelope_for`` sets them)."""
    return model.ce_type(), dataschema_of(model)


def stream_id(event: Event) -> str:
    """The outbox stream of an event (its topic and aggregate): the unit of sequence and chain."""
    return f"{event.TOPIC}|{event.aggregate_id()}"


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    force: bool = False
    """Skip the publisher's own size check and let the broker decide (operator retries)."""


@dataclass(frozen=True)
class PublishResult:
    """Where one message landed, or why it did not."""

    partition: int | None = None
    offset: int | None = None
    batch_offset: int | None = None
    """Offset of the first record of the record batch it was written in."""
    error: str | None = None
    permanent: bool = False
    """The message itself can never be published as it is (too large, invalid record)."""

    @property
    def ok(self) -> bool:
        return self.error is None


class Publisher(Protocol):
    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        """Publish, one result per message in order; never raise for a message's failure.

        Per key order holds: after a message fails, no later message with the same topic
        and key is attempted in the same call (its result is a non-permanent error).
        """
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


def row_stream(row: dict[str, Any]) -> str:
    """The stream (topic and aggregate) of an outbox row: the unit of ordering."""
    return f"{row['topic']}|{row['key']}"


def row_message(
    row: dict[str, Any], *, force: bool = False, span: Span | None = None
) -> OutgoingMessage:
    """The Kafka message of an outbox row, its ``traceparent`` naming the send ``span``
    (without one, a send span that ends at once: the caller reports no outcome)."""
    sending = span or _send_span(row)
    traceparent = traceparent_of(sending)
    if span is None:
        end_send_span(sending)
    return OutgoingMessage(
        topic=row["topic"],
        key=str(row["key"]).encode(),
        value=str(row["payload"]).encode(),
        headers=message_headers(row["headers"], traceparent),
        force=force,
    )


def message_headers(stored: dict[str, str], traceparent: str | None) -> list[tuple[str, bytes]]:
    """The stored headers, encoded, with ``traceparent`` in place of the recorded one (or
    last, if none was recorded): what ``{**stored, "traceparent": traceparent}`` lists,
    without copying the dict for every message."""
    if not traceparent:
        return [(k, v.encode()) for k, v in stored.items()]
    headers = [(k, (traceparent if k == H_TRACEPARENT else v).encode()) for k, v in stored.items()]
    if H_TRACEPARENT not in stored:
        headers.append((H_TRACEPARENT, traceparent.encode()))
    return headers


def _send_span(row: dict[str, Any]) -> Span:
    # the stored headers as they are: the span only reads them
    headers = row["headers"]
    return start_send_span(row["topic"], message_id=row["id"], key=str(row["key"]), headers=headers)


YIELD_EVERY = 100
"""Rows turned into messages between two chances for the event loop to serve others."""


async def publish_rows(
    publisher: Publisher, rows: Sequence[dict[str, Any]], *, force: bool = False
) -> list[PublishResult]:
    """Publish outbox rows, each in a send span that ends with where it landed (or why not)."""
    spans = [_send_span(row) for row in rows]
    try:
        messages = []
        for start in range(0, len(rows), YIELD_EVERY):
            if start:  # a full page is tens of ms of work: let waiting requests in meanwhile
                await asyncio.sleep(0)
            stop = start + YIELD_EVERY
            pairs = zip(rows[start:stop], spans[start:stop], strict=True)
            messages += [row_message(row, force=force, span=span) for row, span in pairs]
        outcome: list[PublishResult] | None = await publisher.publish_batch(messages)
    except BaseException as exc:
        for span in spans:
            end_send_span(span, error=type(exc).__name__)
        raise
    # A publisher of the older contract returns nothing: it raises if any failed.
    results = outcome if outcome is not None else [PublishResult() for _ in rows]
    for span, result in zip(spans, results, strict=True):
        end_send_span(span, partition=result.partition, offset=result.offset, error=result.error)
    return results


def _next_created_ns(stream: dict[str, Any] | None) -> int:
    # The relay publishes in created_ns order: keep it increasing along each stream even
    # when replicas' clocks disagree, so an aggregate's events are published in sequence.
    created_ns = time.time_ns()
    if stream is not None:
        created_ns = max(created_ns, int(stream.get("created_ns", 0)) + 1)
    return created_ns
