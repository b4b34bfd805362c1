"""Reliable event consumption on top of FastStream.

- Offsets are committed only after the effect is stored (never FastStream's default
  ACK_FIRST): the handler notes a processed batch's offsets, committed at most every
  ``commit_interval_ms`` (``ikmkit.messaging.offsets``), and an exception that escapes
  rewinds the partitions to the batch's first records, which are redelivered.
- Idempotent: each handler runs in a unit of work that also records the event
  id in the inbox; a redelivered event has no second effect.
- Transient errors retry with exponential backoff and jitter up to a limit; an
  event that cannot be decoded, fails its contract, is refused by the domain
  (``PermanentError``) or exhausts its retries goes to ``<topic>.dlq.<group>``
  with its original bytes and headers, the reason, the error and the attempt
  count (``ikmkit.messaging.deadletter``; a dead letter too large to publish whole is
  published truncated, with the original's size and digest). Only a transient
  failure to publish a dead letter escapes, and the record is redelivered, so
  nothing is ever skipped silently and no record stalls a partition.
- Only a topic's owner may speak on it (``ikmkit.messaging.authenticity``): an event from
  another ``ce_source``, or unsigned / wrongly signed when its owner's public key
  is configured, goes to the dead-letter topic with reason ``forged``.
- Where the owner signs, the signature must be over this very event: ``ce_hash`` is
  recomputed from the event's data, attributes and ``ce_prevhash`` (the predecessor's hash,
  in every event the outbox writes), so a genuine signature copied onto other content, id or
  sequence is ``forged`` whether or not the genuine event was read first. Events written
  before ``ce_prevhash`` cannot be recomputed: for those (counted,
  ``ikm_events_legacy_signed_total``) the inbox also records each processed hash
  (``inbox.SIGNED``), and a hash processed before under another ``ce_id`` is dead-lettered
  as ``forged`` (``ReplayedSignature``) instead of having a second effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.kafka.broker.router import KafkaRouter
from faststream.message import StreamMessage

from contracts.base import Event
from contracts.catalog import owner_of
from contracts.envelope import EnvelopeAttributes
from ikmkit.collector import collector_paused
from ikmkit.messaging import inbox
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.messaging.cloudevents import DecodeError, Envelope, decode
from ikmkit.messaging.deadletter import DeadLetters, DeadLetterSink, Record, describe
from ikmkit.messaging.inbox import Deduplicated, Handler, deduplicated
from ikmkit.messaging.offsets import OffsetCommits, Revoked
from ikmkit.messaging.record_wait import wait_for_records
from ikmkit.messaging.redelivery import PermanentError, RedeliveryPolicy, ReplayedSignature
from ikmkit.telemetry import metrics
from ikmkit.telemetry.otel import EventSpans, event_span
from ikmkit.unit_of_work import UnitOfWork, Units

log = logging.getLogger("ikmkit.messaging.consumer")

E = TypeVar("E", bound=Event)
type BatchHandler[U] = Callable[[list[tuple[Any, EnvelopeAttributes]], U], Awaitable[None]]

__all__ = [
    "DeadLetterSink",
    "EventConsumer",
    "PermanentError",
    "Record",
    "RedeliveryPolicy",
    "ReplayedSignature",
]


class EventConsumer[U: UnitOfWork]:
    """Dispatches a consumer group's events to handlers, exactly once in effect.

    Each handler gets the service's unit of work (``units``): what it changes, the events it
    records and the inbox entry of the event it handled commit together."""

    def __init__(
        self,
        *,
        group: str,
        units: Units[U],
        dead_letters: DeadLetterSink,
        redelivery: RedeliveryPolicy | None = None,
        authenticity: Authenticity | None = None,
    ) -> None:
        self.group = group
        self._signed_types: dict[type[Event], bool] = {}
        self._units = units
        self._dead_letters = DeadLetters(group, dead_letters)
        self.redelivery = redelivery or RedeliveryPolicy()
        self.authenticity = authenticity or Authenticity()
        self.subscriber: Any = None  # FastStream's subscriber, once subscribed
        self.commits = OffsetCommits(0)
        self._handlers: dict[type[Event], Handler[U]] = {}
        self._deduplicated: dict[type[Event], Deduplicated[U]] = {}
        self._batch_handler: BatchHandler[U] | None = None
        self.extra_topics: set[str] = set()

    def handles(self, event_type: type[E]) -> Callable[[Handler[U]], Handler[U]]:
        def register(handler: Handler[U]) -> Handler[U]:
            self._handlers[event_type] = handler
            self._deduplicated[event_type] = deduplicated(self.group, handler)
            return handler

        return register

    def handles_batch(self, handler: BatchHandler[U]) -> BatchHandler[U]:
        """Handle a whole batch of fresh events in one call (bulk writes).

        Used on the fast path, where a batch commits as one unit of work; the
        per-event handlers registered with ``handles`` still decide which events
        this consumer takes, and serve the one-by-one fallback that isolates an
        event the batch could not process.
        """
        self._batch_handler = handler
        return handler

    @property
    def topics(self) -> list[str]:
        return sorted({m.TOPIC for m in self._handlers} | self.extra_topics)

    def subscribe(
        self,
        router: KafkaRouter,
        *,
        batch: bool = False,
        max_records: int = 500,
        session_timeout_ms: int = 10_000,
        fetch_max_wait_ms: int = 500,
        commit_interval_ms: int = 0,
    ) -> None:
        """Register this consumer's subscriber on a FastStream Kafka router."""
        self.commits = OffsetCommits(commit_interval_ms / 1000)
        options: dict[str, Any] = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": session_timeout_ms // 3,
            "group_id": self.group,
            "ack_policy": AckPolicy.MANUAL,  # committed by self.commits, rewound by consume
            "listener": Revoked(self.commits),
            "auto_offset_reset": "earliest",
            "title": f"{self.group}",
            "decoder": _the_message_itself,
            # A fetch the broker holds until data comes returns at once on Kafka; brokers that
            # answer only at the max wait (the embedded Tansu) add all of it to every hop.
            "fetch_max_wait_ms": fetch_max_wait_ms,
        }
        if batch:
            # batch_timeout_ms is FastStream's own ask (and its sleep after an empty one),
            # short should it ever ask; wait_for_records asks in its place, woken by a fetch.
            self.subscriber = router.subscriber(
                *self.topics, batch=True, max_records=max_records, batch_timeout_ms=5, **options
            )
            wait_for_records(self.subscriber)
        else:
            self.subscriber = router.subscriber(*self.topics, **options)

        @self.subscriber  # type: ignore[untyped-decorator]
        async def consume(message: Any) -> None:  # the message itself: _the_message_itself
            raw: Any = message.raw_message  # a batch's records, or one record
            records = list(raw) if isinstance(raw, tuple) else [raw]
            try:
                await self.process(records)
            except Exception:
                await message.nack()  # back to the batch's first records: they come again
                raise
            await self.commits.processed(message.consumer, records)
            del raw, records
            release_records(message)

    async def process(self, records: Sequence[Record]) -> None:
        """Process records in order; returns once every one has an effect or a dead letter."""
        with collector_paused():
            ready = await self._admit(records)
            if len(ready) > 1 and await self._try_together(ready):
                return
        # One by one (retries, their back-off sleeps) with the collector running as usual.
        for record, envelope in ready:
            await self._process_one(record, envelope)

    async def _admit(self, records: Sequence[Record]) -> list[tuple[Record, Envelope]]:
        """The records this consumer handles, decoded; the others dead-lettered or skipped."""
        ready: list[tuple[Record, Envelope]] = []
        for record in records:
            try:
                envelope = decode(record.headers, record.value)
            except DecodeError as exc:
                await self._dead_letter(record, exc.reason, exc.detail, attempts=1)
                continue
            forged = self.authenticity.check(record.topic, envelope)
            if forged is not None:
                metrics.EVENTS_FAILED.labels(self.group, forged.reason).inc()
                await self._dead_letter(record, forged.reason, forged.detail, attempts=1)
                continue
            if type(envelope.event) in self._handlers:
                ready.append((record, envelope))
                if self._unbound(envelope):
                    metrics.EVENTS_LEGACY_SIGNED.labels(self.group, envelope.attrs.type).inc()
        return ready

    async def _try_together(self, ready: list[tuple[Record, Envelope]]) -> bool:
        """Fast path: the whole batch in one unit of work. False -> fall back one by one."""
        try:
            async with self._units.open() as uow:
                ids = list(dict.fromkeys(env.attrs.id for _, env in ready))
                fresh = await inbox.unprocessed(uow.tx, self.group, ids)
                todo: list[tuple[Record, Envelope]] = []
                for record, env in ready:
                    if env.attrs.id in fresh:
                        fresh.discard(env.attrs.id)
                        todo.append((record, env))
                hashes = await self._fresh_hashes(uow, todo)
                await self._handle_together(todo, uow)
                done = {env.attrs.id for _, env in todo}
                await inbox.mark_processed(uow.tx, self.group, sorted(done))
                await inbox.mark_processed(uow.tx, self.group, hashes, inbox.SIGNED)
        except Exception as exc:
            log.info(
                "batch of %d failed (%s); processing one by one", len(ready), type(exc).__name__
            )
            return False
        self._count(ready, processed=done)
        return True

    def _unbound(self, envelope: Envelope) -> bool:
        """Whether the event is signed but without ``ce_prevhash`` (written before it): its
        signed hash goes to ``inbox.SIGNED``. One with it was checked to be the very event
        its signed hash covers (``Authenticity``): a copy under another id fails that."""
        return envelope.attrs.prevhash is None and self._signed(envelope)

    def _signed(self, envelope: Envelope) -> bool:
        """Whether the event's owner signs (its public key is configured here)."""
        kind = type(envelope.event)
        signed = self._signed_types.get(kind)
        if signed is None:
            signed = owner_of(kind.TOPIC) in self.authenticity.services_with_keys
            self._signed_types[kind] = signed
        return signed

    async def _fresh_hashes(self, uow: U, todo: list[tuple[Record, Envelope]]) -> list[str]:
        """The signed hashes of ``todo``'s events without ``ce_prevhash``, to record with it;
        ``ReplayedSignature`` if one was processed before or comes twice (the one-by-one path
        then dead-letters that one)."""
        hashes = sorted(env.attrs.hash for _, env in todo if self._unbound(env))
        if not hashes:
            return hashes
        fresh = await inbox.unprocessed(uow.tx, self.group, hashes, inbox.SIGNED)
        if len(fresh) < len(hashes):
            raise ReplayedSignature("a signed ce_hash of the batch was processed already")
        return hashes

    async def _refuse_replay(self, uow: U, attrs: EnvelopeAttributes) -> None:
        if not await inbox.already_processed(uow.tx, self.group, attrs.hash, inbox.SIGNED):
            return
        if await inbox.already_processed(uow.tx, self.group, attrs.id):
            return  # a redelivery: the handler skips it
        raise ReplayedSignature(
            f"ce_hash {attrs.hash[:16]}... was processed already under another ce_id:"
            " a copy of a signed event"
        )

    async def _handle_together(self, todo: list[tuple[Record, Envelope]], uow: U) -> None:
        if not todo:
            return
        if self._batch_handler is not None:
            # One call for the batch, but each event keeps its span in its request's trace.
            spans = EventSpans(self.group)
            for record, env in todo:
                attrs = env.attrs
                spans.start(
                    attrs.traceparent,
                    topic=record.topic,
                    event_id=attrs.id,
                    event_type=attrs.type,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                )
            with spans:
                await self._batch_handler([(env.event, env.attrs) for _, env in todo], uow)
            return
        for record, env in todo:
            with self._span(record, env):
                await self._handlers[type(env.event)](env.event, env.attrs, uow)

    def _count(self, ready: list[tuple[Record, Envelope]], processed: set[str]) -> None:
        by_type = Counter(type(env.event).__name__ for _, env in ready if env.attrs.id in processed)
        for name, n in by_type.items():
            metrics.EVENTS_PROCESSED.labels(self.group, name).inc(n)
        duplicates = len(ready) - len(processed)
        if duplicates:
            metrics.EVENTS_DUPLICATE.labels(self.group).inc(duplicates)

    async def _process_one(self, record: Record, envelope: Envelope) -> None:
        # Retries, their warnings and a dead letter all belong to the event's trace.
        with self._span(record, envelope):
            await self._attempts(record, envelope)

    async def _attempts(self, record: Record, envelope: Envelope) -> None:
        handler = self._deduplicated[type(envelope.event)]
        for attempt in range(1, self.redelivery.max_attempts + 1):
            try:
                await self._apply(handler, envelope)
                return
            except PermanentError as exc:
                metrics.EVENTS_FAILED.labels(self.group, exc.reason).inc()
                await self._dead_letter(record, exc.reason, str(exc), attempts=attempt)
                return
            except Exception as exc:
                metrics.EVENTS_FAILED.labels(self.group, "transient").inc()
                if attempt == self.redelivery.max_attempts:
                    await self._dead_letter(
                        record, "retries_exhausted", describe(exc), attempts=attempt
                    )
                    return
                delay = self.redelivery.delay(attempt)
                log.warning(
                    "event %s (%s) failed attempt %d/%d: %s; retrying in %.2fs",
                    envelope.attrs.id,
                    envelope.attrs.type,
                    attempt,
                    self.redelivery.max_attempts,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _apply(self, handler: Deduplicated[U], envelope: Envelope) -> None:
        signed = self._unbound(envelope)
        async with self._units.open() as uow:
            if signed:
                await self._refuse_replay(uow, envelope.attrs)
            applied = await handler(envelope.event, envelope.attrs, uow)
            if applied and signed:
                await inbox.mark_processed(uow.tx, self.group, [envelope.attrs.hash], inbox.SIGNED)
        if applied:
            metrics.EVENTS_PROCESSED.labels(self.group, type(envelope.event).__name__).inc()
        else:
            metrics.EVENTS_DUPLICATE.labels(self.group).inc()

    def _span(self, record: Record, envelope: Envelope) -> AbstractContextManager[object]:
        """The event's span continues the trace of the request that produced it."""
        return event_span(
            envelope.attrs.traceparent,
            topic=record.topic,
            group=self.group,
            event_id=envelope.attrs.id,
            event_type=envelope.attrs.type,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
        )

    async def _dead_letter(self, record: Record, reason: str, error: str, *, attempts: int) -> None:
        await self._dead_letters.park(record, reason, error, attempts=attempts)


def release_records(message: StreamMessage[Any]) -> None:
    """Let go of a processed message's records, its bodies and headers.

    FastStream's message outlives its handler by tens of seconds: FastStream keeps it in a
    context variable, and every timer started in that context (aiokafka's 40 s request
    timeout around the offset commit that acknowledges the batch) keeps a copy of the
    context until its deadline, cancelled or not (asyncio purges cancelled timers only when
    more than 100 are scheduled). So the last 40 s of batches stayed in memory: 43 batches,
    22,000 records, in a subsidy service catching up (docs/performance.md, Scale). Only a
    failed batch needs its records afterwards (the negative acknowledgement seeks back to
    them), and this runs only once the batch has its effects; the acknowledgement itself
    commits the consumer's position and reads none of them."""
    message.raw_message = ()
    message.body = b""
    message.batch_headers = []
    message.clear_cache()


async def _the_message_itself(message: StreamMessage[Any]) -> Any:
    """What the handler is called with: the message, its records in ``raw_message``. Decoding
    is ours to do (ikmkit.messaging.cloudevents: malformed bytes must reach the DLQ), and the
    broker calls handlers without FastDepends (``apply_types=False``, ikmkit.service.runtime):
    its context lookup of a ``message`` parameter ran on a worker thread for every batch."""
    return message
