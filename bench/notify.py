"""Notify pipeline throughput as a fraction of raw Kafka consumption of the same topic.

N ``EnterpriseRegistered`` events (valid CloudEvents headers, canonical JSON, key = NIB)
are put on ``ikm.registry.enterprise.v1`` first. Then, in the same run:

1. raw: a plain aiokafka consumer reads them all (no decoding), events/s; three times from
   the start of the topic, best of three reported (one read of N events takes a fraction of
   a second, so a single one is at the mercy of the scheduler on a shared machine);
2. notify: the real service (batch consumer -> notifications in SQLite -> dispatcher ->
   pooled SMTP) against a real SMTP sink: events/s persisted (3 notifications each:
   owner e-mail + owner inbox + regional inbox) and events/s delivered (e-mails received);
3. the SMTP sink's own capacity: pre-composed messages sent through notify's own connection
   pool (as many connections and sends in flight as the dispatcher, pipelined as it sends:
   one write per message, the sink offers PIPELINING), no store, no rendering, no outcome
   recorded: the ceiling for "delivered", measured just before
   and just after phase 2 (the mean is the ceiling: the machine's load moves it);
4. diagnostic: notify again from the start of the topic (a group of its own, a new store)
   with the dispatcher off: what the consumer persists with the process to itself;
5. the "typical FastStream consumer" peer (``bench/_faststream_peer.py``: per-message handler,
   one SQLite insert and commit per event) reading the same events: events/s persisted.

4 and 5 also print this process's CPU time per event: on a shared machine the wall-clock
rates of two phases depend on what else runs at the time; CPU time much less.

Exactly once: notify must have recorded every event once in its inbox and written exactly
three notifications per event; the peer exactly one row per event.

Rates are measured between the first and the last observation (join and rebalance time
excluded for both). Other benchmarks publish on the same topic, so this one runs on its
own embedded broker to consume exactly its own events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench._faststream_peer import peer_rate
from bench.common import Figure
from contracts.chain import CANON_RFC8785
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered, OwnerContact
from ikmdev.infra import EmbeddedKafka, free_port, wait_for_port
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.service.runtime import Runtime
from ikmkit.store.sqlite import SqliteStore
from services.notify.bootstrap import Notify
from services.notify.consumers import GROUP, build_consumer
from services.notify.main import definition
from services.notify.senders import SmtpMailer, compose
from services.notify.settings import NotifySettings
from services.notify.store import NotifyUnit
from tests.support.service import running_service

EVENTS = 30_000
RAW_RUNS = 3
SINK_MESSAGES = 5_000
TARGET_RATIO = 0.25
PEER_TARGET = 3.0
SINK_TARGET = 0.8  # e-mail delivered / the sink's own capacity, measured around it
NOTIFICATIONS_PER_EVENT = 3  # owner e-mail, owner inbox, regional inbox
PROVINCES = ("11", "31", "32", "34", "35", "73")


def _event(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    province = PROVINCES[i % len(PROVINCES)]
    event = EnterpriseRegistered(
        nib=f"9{i:012d}",
        province=province,
        name=f"IKM Bench {i}",
        regency=f"{province}71",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(
            name=f"Pemilik {i}",
            email=f"owner{i}@example.id",
            phone=f"0812{i:08d}",
            preferred_language="en" if i % 5 == 0 else "id",
        ),
        registered_at=datetime.now(UTC),
    )
    payload = event_payload(event)
    attrs = EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ikm/registry",
        time=datetime.now(UTC),
        subject=event.nib,
        region=province,
        sequence=1,
        hash="",
        hashcanon=CANON_RFC8785,
        prevhash=GENESIS_HASH,
    )
    attrs = attrs.model_copy(update={"hash": chain_hash(GENESIS_HASH, attrs, payload)})
    return event.nib.encode(), payload.encode(), to_headers(attrs)


async def _publish(kafka: str, count: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, enable_idempotence=False, linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        futures = []
        for i in range(count):
            key, value, headers = _event(i)
            futures.append(await producer.send(ENTERPRISE_TOPIC, value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _raw_rates(kafka: str, count: int, runs: int) -> list[float]:
    return [await _raw_rate(kafka, count) for _ in range(runs)]


async def _raw_rate(kafka: str, count: int) -> float:
    """Events/s of a bare aiokafka consumer reading the topic from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(ENTERPRISE_TOPIC) or set()
        consumer.assign([TopicPartition(ENTERPRISE_TOPIC, p) for p in partitions])
        await consumer.seek_to_beginning()
        seen, first_at = 0, 0.0
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            got = sum(len(records) for records in batches.values())
            if got and not first_at:
                first_at, seen = time.perf_counter(), 0  # the first fetch starts the clock
            seen += got
        return count / (time.perf_counter() - first_at)
    finally:
        await consumer.stop()


class _Progress:
    """Samples (time, count) and turns the first and last into a rate."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def see(self, count: int) -> None:
        if count == 0:
            return
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, count)
        if self.last is None or count > self.last[1]:
            self.last = (now, count)

    def rate(self) -> float:
        assert self.first is not None and self.last is not None
        (t0, n0), (t1, n1) = self.first, self.last
        return (n1 - n0) / (t1 - t0) if t1 > t0 else float("inf")


class _SinkProcess:
    """The SMTP sink in its own process, as a real mail server would be (no shared GIL)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self._count_file = workdir / "smtp-count"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ikm_cli.devextras", str(self.port), str(self._count_file)]
        )
        wait_for_port("127.0.0.1", self.port)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def count(self) -> int:
        try:
            return int(self._count_file.read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


async def _sink_capacity(
    workdir: Path, messages: int, connections: int, *, pipelined: bool = True
) -> float:
    """Messages/s the SMTP sink accepts from a bare pooled client (the delivery ceiling):
    pre-composed messages, no store; over notify's own connection pool (``SmtpMailer``:
    pipelined as notify sends when the sink offers it, one write per message, as many sends
    in flight as the dispatcher's), so the ceiling talks to the sink exactly as notify does
    (``pipelined=False``: aiosmtplib's ``sendmail``, one command per reply)."""
    sink = _SinkProcess(workdir / ("capacity" if pipelined else "capacity-one-by-one"))
    settings = NotifySettings(
        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_connections=connections
    )
    sender, to = "noreply@ikm.kemenperin.go.id", "owner@example.id"
    message = compose(sender=settings.smtp_from, to=to, subject="s", body="b" * 600, ref="x")

    async def one_by_one(share: int) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port)
        await client.connect()
        for _ in range(share):
            await client.sendmail(sender, [to], message)
        await client.quit()

    async def pooled(mailer: SmtpMailer, share: int) -> None:
        for _ in range(share):
            await mailer.send_composed(to, message)

    try:
        started = time.perf_counter()
        if pipelined:
            mailer, senders = SmtpMailer(settings), settings.dispatch_concurrency
            await asyncio.gather(*(pooled(mailer, messages // senders) for _ in range(senders)))
            sent = messages // senders * senders
            await mailer.close()
        else:
            await asyncio.gather(*(one_by_one(messages // connections) for _ in range(connections)))
            sent = messages // connections * connections
        return sent / (time.perf_counter() - started)
    finally:
        sink.stop()


async def _consumer_only_rate(kafka: str, workdir: Path, count: int) -> float:
    """Diagnostic: events/s persisted with the dispatcher off (nothing sent), on a new store,
    by a consumer group of its own reading the topic from the start: what the consumer does
    with the process to itself."""
    store = SqliteStore(workdir / "notify-consumer-only.db")
    settings = NotifySettings(kafka_bootstrap_servers=kafka, data_dir=workdir)
    real = definition(settings, store=store)

    def build(deps: Notify, runtime: Runtime) -> EventConsumer[NotifyUnit]:
        consumer = build_consumer(deps, runtime)
        consumer.group = f"{GROUP}-consumer-only"  # subscribes from the start of the topic
        return consumer

    spec = dataclasses.replace(real.consumers[0], build=build)
    service = dataclasses.replace(real, background=[], consumers=[spec])
    persisted, processed = _Progress(), 0
    async with running_service(service):
        deadline = time.monotonic() + 600
        while processed < count and time.monotonic() < deadline:
            async with store.transaction() as uow:
                processed = await uow.count(INBOX)
            persisted.see(processed)
            await asyncio.sleep(0.05)
        async with store.transaction() as uow:
            notifications = await uow.count("notifications")
    if processed != count or notifications != NOTIFICATIONS_PER_EVENT * count:
        raise RuntimeError(f"not exactly once: {processed} in the inbox, {notifications} written")
    return persisted.rate()


async def _notify_rates(kafka: str, workdir: Path, count: int) -> tuple[float, float, int]:
    sink = _SinkProcess(workdir)
    store = SqliteStore(workdir / "notify.db")
    settings = NotifySettings(
        kafka_bootstrap_servers=kafka,
        data_dir=workdir,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        dispatch_batch=2000,
    )
    persisted, delivered = _Progress(), _Progress()
    mailed = processed = 0
    try:
        async with running_service(definition(settings, store=store)):
            deadline = time.monotonic() + 600
            while (processed < count or mailed < count) and time.monotonic() < deadline:
                async with store.transaction() as uow:
                    processed = await uow.count(INBOX)
                mailed = sink.count
                persisted.see(processed)
                delivered.see(mailed)
                await asyncio.sleep(0.05)
            async with store.transaction() as uow:
                notifications = await uow.count("notifications")
    finally:
        sink.stop()
    if processed < count or mailed < count:
        raise RuntimeError(f"notify timed out: {processed} processed, {mailed} mailed")
    if processed != count or notifications != NOTIFICATIONS_PER_EVENT * count:
        raise RuntimeError(f"not exactly once: {processed} in the inbox, {notifications} written")
    return persisted.rate(), delivered.rate(), notifications


async def run(kafka: str, workdir: Path) -> list[Figure]:
    del kafka  # see the module docstring: a private broker holds exactly this run's events
    broker = EmbeddedKafka().start()
    try:
        servers = broker.bootstrap_servers
        await ensure_topics(servers, [ENTERPRISE_TOPIC], partitions=3)
        await _publish(servers, EVENTS)
        raws = await _raw_rates(servers, EVENTS, RAW_RUNS)
        connections = NotifySettings().smtp_connections
        before = await _sink_capacity(workdir / "before", SINK_MESSAGES, connections)
        persisted, delivered, notifications = await _notify_rates(servers, workdir, EVENTS)
        after = await _sink_capacity(workdir / "after", SINK_MESSAGES, connections)
        one_by_one = await _sink_capacity(
            workdir / "after", SINK_MESSAGES, connections, pipelined=False
        )
        cpu = time.process_time()
        alone = await _consumer_only_rate(servers, workdir, EVENTS)
        alone_cpu, cpu = time.process_time() - cpu, time.process_time()
        peer, rows = await peer_rate(
            servers, ENTERPRISE_TOPIC, EnterpriseRegistered, workdir / "peer.db", EVENTS
        )
        peer_cpu, cpu = time.process_time() - cpu, time.process_time()
        lean, lean_rows = await peer_rate(
            servers,
            ENTERPRISE_TOPIC,
            EnterpriseRegistered,
            workdir / "peer-lean.db",
            EVENTS,
            message_param=False,
        )
        lean_cpu = time.process_time() - cpu
    finally:
        with contextlib.suppress(Exception):
            broker.stop()
    capacity = (before + after) / 2  # just before and just after the delivery phase
    raw = max(raws)
    runs = ", ".join(f"{r:,.0f}" for r in raws)
    return [
        Figure("notify", f"raw aiokafka consume, best of {RAW_RUNS} ({runs})", raw, "events/s"),
        Figure("notify", "events -> notifications persisted", persisted, "events/s"),
        Figure("notify", "notifications written", notifications, "docs"),
        Figure("notify", "events -> e-mail delivered to SMTP sink", delivered, "events/s"),
        Figure("notify", f"SMTP sink capacity (bare pipelined client, no store;"
               f" {before:,.0f} before, {after:,.0f} after)", capacity, "mails/s"),
        Figure("notify", "diagnostic: sink capacity, bare aiosmtplib one command per reply",
               one_by_one, "mails/s"),
        Figure("notify", "delivered / sink capacity", delivered / capacity, "x",
               target=f">= {SINK_TARGET:g}x", met=delivered / capacity >= SINK_TARGET),
        Figure("notify", "diagnostic: persisted with the dispatcher off", alone, "events/s"),
        Figure("notify", "diagnostic: its CPU time per event (this process)",
               alone_cpu / EVENTS * 1e6, "us"),
        Figure("notify", f"typical FastStream consumer peer ({rows:,} rows)", peer, "events/s"),
        Figure("notify", "diagnostic: peer's CPU time per event (this process)",
               peer_cpu / EVENTS * 1e6, "us"),
        _ratio("persisted / raw consume", persisted / raw),
        _ratio("delivered / raw consume", delivered / raw),
        Figure("notify", "persisted / typical FastStream peer", persisted / peer, "x",
               target=f">= {PEER_TARGET:g}x", met=persisted / peer >= PEER_TARGET),
        Figure("notify", f"diagnostic: peer without its message parameter (no worker-thread"
               f" hop per message; {lean_rows:,} rows)", lean, "events/s"),
        Figure("notify", "diagnostic: that peer's CPU time per event (this process)",
               lean_cpu / EVENTS * 1e6, "us"),
        Figure("notify", "diagnostic: persisted / peer without its message parameter",
               persisted / lean, "x"),
    ]  # fmt: skip


def _ratio(name: str, ratio: float) -> Figure:
    return Figure(
        "notify",
        name,
        ratio * 100,
        "% of raw",
        target=f">= {TARGET_RATIO:.0%}",
        met=ratio >= TARGET_RATIO,
    )
