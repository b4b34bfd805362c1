"""``ikm audit rebuild SERVICE``: rebuild a service's event-fed state from the log and diff it.

How: the service's own ``EventConsumer``s (from its ``main.definition``) are built
over a scratch SQLite store and fed every record of the topics they consume,
read group-less up to the end offsets seen at the start (``ikmkit.audit.reader``),
through ``EventConsumer.process``: the same decoding, inbox deduplication and
handlers as in production. Nothing reaches Kafka: the scratch runtime has no
relay and dead letters are collected and reported, not published; background
tasks (e.g. notify's dispatcher) do not run.

Then every collection wholly derived from consumed events (``DERIVED_COLLECTIONS``,
read from each service's consumers) is diffed, document by document, with the live
store (missing, extra, changed fields). The other collections hold state created by
the service's own commands (HTTP), which events may only change (e.g. subsidy
applications put on hold): they cannot be rebuilt from the log and are listed as
skipped. Ignored:

- the messaging collections (``outbox``, ``outbox_streams``, ``inbox``) and the
  ``Idempotency-Key`` records, which every store has beside its own;
- ``version`` (the optimistic-concurrency counter counts every write, including
  writes by commands and background tasks);
- per service, fields that background work or the wall clock sets
  (``VOLATILE_FIELDS``) and collections that are ledgers of side effects
  (``SKIPPED_COLLECTIONS``).

Independently of handlers, the live store's outbox stream heads (last sequence
and hash per aggregate, committed with the state) are compared with the heads of
the same streams in the log, which proves the log holds exactly what the store
committed (the rule of ``ikm audit replay``, ``ikmkit.audit.published``: events the
relay has not published yet are not differences; streams on the service's topics that
its outbox does not know are). That is the whole check for the registry: it is a source, not a
consumer; its state is written by its use cases from HTTP commands and it has no
event handlers to replay, and projecting its events here would be a second
implementation of its domain rules that could drift from the real one.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from faststream.kafka import KafkaBroker

from contracts.topics import source_of
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.heads import OutboxHeads, heads_from_store
from ikmkit.audit.published import compare_published, wanted_sequences
from ikmkit.audit.reader import LogReader
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.messaging.consumer import EventConsumer, Record
from ikmkit.messaging.inbox import INBOX
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_security import faststream_security, kafka_client_options
from ikmkit.messaging.outbox import (
    OUTBOX,
    OUTBOX_STREAMS,
    Outbox,
    OutgoingMessage,
    PublishResult,
)
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.service.runtime import Runtime, ServiceDefinition
from ikmkit.service.settings import ServiceSettings
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore

SERVICES = ("registry", "subsidy", "training", "notify", "insights")
MESSAGING_COLLECTIONS = frozenset({OUTBOX, OUTBOX_STREAMS, INBOX})
ALWAYS_IGNORED = frozenset({"version"})

_NOTIFICATION_VOLATILE = "status attempts next_attempt_at delivered_at last_error read created_at"
VOLATILE_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    # notify: the dispatcher and the inbox API change a notification after the consumer wrote it;
    # created_at / next_attempt_at are the consumer's wall clock.
    "notify": {"notifications": frozenset(_NOTIFICATION_VOLATILE.split())},
}
DERIVED_COLLECTIONS: dict[str, tuple[str, ...]] = {
    # Collections wholly derived from consumed events (read from each service's consumers).
    "subsidy": ("enterprises",),  # replica of the registry's enterprise events
    "training": ("enterprise_replica", "mou_coverage"),
    "notify": ("notifications", "contacts"),
    "insights": (
        "counts",
        "members",
        "mou_parties",
        "enterprise_replica",
        "partner_replica",
        "mou_replica",
    ),
}
SKIPPED_COLLECTIONS: dict[str, dict[str, str]] = {
    "notify": {
        "deliveries": "ledger of delivery attempts (random ids, wall-clock times, "
        "mostly written by the dispatcher)",
    },
}


@dataclass(frozen=True)
class Difference:
    collection: str
    doc_id: str
    kind: str  # "missing" (live only) | "extra" (rebuilt only) | "changed"
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamDifference:
    topic: str
    subject: str
    store_sequence: int | None
    log_sequence: int | None
    detail: str


@dataclass
class RebuildReport:
    service: str
    topics: list[str] = field(default_factory=list)
    events_replayed: int = 0
    dead_lettered: list[str] = field(default_factory=list)
    compared: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    streams_checked: int = 0
    stream_differences: list[StreamDifference] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.differences and not self.stream_differences


class CollectingPublisher(KafkaPublisher):
    """The scratch runtime's publisher: dead letters of the rebuild stay here, and nothing
    is ever sent (its producer is never started; the audit never writes to Kafka)."""

    def __init__(self, kafka: str, settings: ServiceSettings) -> None:
        super().__init__(
            kafka, client_id="ikm-audit-rebuild", security=kafka_client_options(settings)
        )
        self.messages: list[OutgoingMessage] = []

    async def publish(self, message: OutgoingMessage) -> None:
        self.messages.append(message)

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        return [PublishResult(error="a rebuild publishes nothing") for _ in messages]

    def reasons(self) -> list[str]:
        return [
            f"{m.topic}: {dict(m.headers).get('dlq_reason', b'?').decode()}" for m in self.messages
        ]


def load_definition(service: str, settings: Any = None) -> ServiceDefinition[Any]:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    main = importlib.import_module(f"services.{service}.main")
    definition: ServiceDefinition[Any] = (
        main.definition(settings) if settings else main.definition()
    )
    return definition


def scratch_runtime(
    definition: ServiceDefinition[Any], scratch: Store, publisher: CollectingPublisher, kafka: str
) -> Runtime:
    """The service's runtime over the scratch store, with nothing started: the relay and the
    broker exist (as in production) but never run; outgoing events stay in the scratch
    outbox, dead letters in the ``publisher``. Its ``service`` is what the service's own
    ``bootstrap`` builds from it."""
    runtime = Runtime(
        definition.name,
        definition.settings,
        scratch,
        Outbox(source_of(definition.name)),
        publisher=publisher,
        relay=OutboxRelay(scratch, publisher, service=definition.name),
        broker=KafkaBroker(kafka, security=faststream_security(definition.settings)),
    )
    runtime.deps = definition.bootstrap(runtime)
    return runtime


def scratch_consumers(
    definition: ServiceDefinition[Any], runtime: Runtime
) -> list[EventConsumer[Any]]:
    """The service's own consumers, built by its ``ConsumerSpec``s from its dependencies."""
    # A rebuild judges events as the live consumers do: forged ones are not applied.
    authenticity = Authenticity.configured(definition.settings)
    consumers = []
    for spec in definition.consumers:
        consumer = spec.build(runtime.deps, runtime)
        consumer.authenticity = authenticity
        consumers.append(consumer)
    return consumers


async def rebuild(
    service: str,
    kafka: str,
    live: Store,
    *,
    definition: ServiceDefinition[Any] | None = None,
    workdir: Path | None = None,
) -> RebuildReport:
    """Rebuild ``service``'s event-fed state into a scratch store and diff it with ``live``."""
    started = time.perf_counter()
    definition = definition or load_definition(service)
    report = RebuildReport(service=service)
    with tempfile.TemporaryDirectory(prefix=f"ikm-rebuild-{service}-", dir=workdir) as tmp:
        scratch = SqliteStore(Path(tmp) / f"{service}.db")
        await scratch.open(definition.store_collections())
        try:
            dead_letters = CollectingPublisher(kafka, definition.settings)
            runtime = scratch_runtime(definition, scratch, dead_letters, kafka)
            consumers = scratch_consumers(definition, runtime)
            heads = OutboxHeads()
            heads.add(service, "live store", definition.produces, await heads_from_store(live))
            consumed = sorted({t for c in consumers for t in c.topics})
            report.topics = sorted(set(consumed) | heads.topics | {t for t, _ in heads.streams})
            verifier = await _replay_into(kafka, report, consumers, consumed)
            report.dead_lettered = dead_letters.reasons()
            report.stream_differences = _compare_heads(heads, verifier)
            report.streams_checked = len(heads.streams)
            if consumers:
                await _diff_collections(definition, live, scratch, report)
            else:
                report.skipped["*"] = (
                    f"{service} consumes no events: its state comes from its commands; "
                    "only its outbox stream heads are checked against the log"
                )
        finally:
            await scratch.close()
    report.seconds = time.perf_counter() - started
    return report


async def _replay_into(
    kafka: str, report: RebuildReport, consumers: Sequence[EventConsumer[Any]], consumed: list[str]
) -> ChainVerifier:
    """Feed every record to the consumers of its topic; also track the log's stream heads."""
    verifier = ChainVerifier()
    reader = LogReader(kafka, report.topics)
    await reader.open()
    try:
        async for batch in reader.batches():
            for record in batch:
                verifier.check(record, selected=False)
            if batch and batch[0].topic in consumed:
                report.events_replayed += len(batch)
                for consumer in consumers:
                    if batch[0].topic in consumer.topics:
                        await consumer.process(cast(Sequence[Record], batch))
    finally:
        await reader.close()
    return verifier


def _compare_heads(heads: OutboxHeads, verifier: ChainVerifier) -> list[StreamDifference]:
    """The live outbox's published heads against the log, by ``ikm audit replay``'s rule.

    Unsent events (the relay's backlog) are not differences; see ``ikmkit.audit.published``.
    """
    log = verifier.log_streams(wanted_sequences(heads, None, ()))
    findings, _ = compare_published(heads, log)
    found = []
    for finding in findings:
        if finding.severity != "error":
            continue
        key = (finding.topic, finding.subject)
        head = heads.streams.get(key)
        logged = log.get(key)
        found.append(
            StreamDifference(
                finding.topic,
                finding.subject,
                head.sequence if head is not None else None,
                logged.last if logged is not None else None,
                f"{finding.kind}: {finding.detail}",
            )
        )
    return found


async def _all_documents(store: Store, collection: str) -> AsyncIterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        async with store.transaction() as uow:
            page = await uow.find(collection, {}, order_by=[("id", 1)], limit=500, cursor=cursor)
        for doc in page.items:
            yield doc
        cursor = page.next_cursor
        if cursor is None:
            return


async def _diff_collections(
    definition: ServiceDefinition[Any], live: Store, scratch: Store, report: RebuildReport
) -> None:
    derived = DERIVED_COLLECTIONS.get(definition.name, ())
    volatile = VOLATILE_FIELDS.get(definition.name, {})
    skipped = SKIPPED_COLLECTIONS.get(definition.name, {})
    for spec in definition.collections:
        name = spec.name
        if name in MESSAGING_COLLECTIONS:
            continue
        if name in skipped:
            report.skipped[name] = skipped[name]
            continue
        if name not in derived:
            async with scratch.transaction(read_only=True) as tx:
                touched = await tx.count(name)
            report.skipped[name] = "created by commands (HTTP), not derivable from the log" + (
                f" (events changed {touched} of them here)" if touched else ""
            )
            continue
        ignored = ALWAYS_IGNORED | volatile.get(name, frozenset())
        differences, counts = await _diff(
            name, _all_documents(live, name), _all_documents(scratch, name), ignored
        )
        report.compared[name] = counts
        report.differences += differences


async def _diff(
    collection: str,
    live: AsyncIterator[dict[str, Any]],
    rebuilt: AsyncIterator[dict[str, Any]],
    ignored: frozenset[str],
) -> tuple[list[Difference], tuple[int, int]]:
    """Both copies walked side by side in id order (a merge join): a page of each in memory,
    not two whole collections (at campaign size, a million replicas each). Returns the
    differences (missing, then extra, then changed, each by id) and (live, rebuilt) counts."""
    missing: list[Difference] = []
    extra: list[Difference] = []
    changed: list[Difference] = []
    before, after = await anext(live, None), await anext(rebuilt, None)
    counts = [0, 0]
    while before is not None or after is not None:
        if before is not None and (after is None or before["id"] < after["id"]):
            missing.append(Difference(collection, before["id"], "missing"))
            before, counts[0] = await anext(live, None), counts[0] + 1
        elif after is not None and (before is None or after["id"] < before["id"]):
            extra.append(Difference(collection, after["id"], "extra"))
            after, counts[1] = await anext(rebuilt, None), counts[1] + 1
        elif before is not None and after is not None:
            fields = sorted(
                k for k in (set(before) | set(after)) - ignored if before.get(k) != after.get(k)
            )
            if fields:
                changed.append(Difference(collection, before["id"], "changed", tuple(fields)))
            before, after = await anext(live, None), await anext(rebuilt, None)
            counts = [counts[0] + 1, counts[1] + 1]
    return missing + extra + changed, (counts[0], counts[1])
