"""End-to-end latency: a registration until the owner's e-mail ``NotificationDelivered``.

The path: ``POST /enterprises`` (registry process) -> its outbox relay -> Kafka -> notify's
consumer (notify process) -> notifications persisted -> dispatcher -> SMTP sink (its own
process) -> notify's outbox relay -> Kafka -> a plain aiokafka consumer here.

Open loop: request ``i`` of a phase is due at ``start + i / rate`` and is sent then whether or
not earlier ones were answered; every latency is measured from that *scheduled* time, so a
stall anywhere (this generator included) shows up instead of being hidden by coordinated
omission. Each phase also reports registration -> the owner's in-app message readable (see
``bench._latency_probes.watch_inbox``) and the HTTP response time.

Checks: every registration answered 201 and produced exactly one e-mail
``NotificationDelivered`` (counted again after a grace period, so a duplicate shows).

``BENCH_LATENCY_RATES`` (default ``100,300`` req/s) and ``BENCH_LATENCY_SECONDS`` (default 20)
change the phases. The stack runs on its own embedded broker: consumers start from the
beginning of their topics, and other benchmarks' events must not be ahead of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from bench._enterprises import json_body
from bench._latency_hops import Hops
from bench._latency_probes import LeanHttp, watch_inbox
from bench.common import Figure, cpu_seconds
from bench.notify import _SinkProcess
from bench.registry import start_service
from contracts.envelope import H_TIME
from contracts.notify import DELIVERY_TOPIC, NotificationDelivered
from contracts.registry import ENTERPRISE_TOPIC
from ikmdev.infra import EmbeddedKafka
from ikmkit.auth import issue_token
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.service.settings import DEV_JWT_SECRET

TARGETS_AT = 300.0  # the issue's targets are stated at this rate
P50_TARGET_MS = 15.0
P99_TARGET_MS = 50.0
INBOX_P99_TARGET_MS = 30.0
WARM_UP = 200
DRAIN_SECONDS = 30.0
CONNECTIONS = 64
DELIVERED_TYPE = NotificationDelivered.ce_type().encode()


def _rates() -> list[float]:
    return [float(r) for r in os.environ.get("BENCH_LATENCY_RATES", "100,300").split(",")]


def _seconds() -> float:
    return float(os.environ.get("BENCH_LATENCY_SECONDS", "20"))


@dataclass
class Watch:
    """When each enterprise's owner e-mail was reported delivered (every report kept)."""

    prefix: str
    delivered: dict[str, list[float]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    hops: Hops = field(default_factory=Hops)

    def see(self, record: ConsumerRecord[bytes, bytes], now: float) -> None:
        data = json.loads(record.value or b"{}")
        recipient = data.get("recipient", "")
        if data.get("channel") == "email" and recipient.startswith(self.prefix):
            nib = recipient.removeprefix("enterprise:")
            self.delivered.setdefault(nib, []).append(now)
            self.hops.put_iso(nib, "SMTP accepted", data["delivered_at"])
            self.hops.put_wall(nib, "notify relay sent", record.timestamp / 1000)
            self.hops.put(nib, "probe read", now)
            self.arrived.set()

    def see_registered(self, record: ConsumerRecord[bytes, bytes]) -> None:
        nib = (record.key or b"").decode()
        stamp = dict(record.headers).get(H_TIME)
        if stamp is not None and nib.startswith(self.prefix.removeprefix("enterprise:")):
            self.hops.put_iso(nib, "registry unit of work", stamp.decode())
            self.hops.put_wall(nib, "registry relay sent", record.timestamp / 1000)


async def _consume(consumer: AIOKafkaConsumer, watch: Watch) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        now = time.perf_counter()
        for records in batches.values():
            for record in records:
                if ("ce_type", DELIVERED_TYPE) in record.headers:
                    watch.see(record, now)


async def _delivery_reader(kafka: str) -> AIOKafkaConsumer:
    """Reads the delivery topic (new: this run's broker) from its start; a 1 ms fetch wait, so
    the reader adds ~nothing (the embedded broker answers a fetch at its max wait, not when a
    record arrives). Not from the end: that broker's end offsets are not exact."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka, enable_auto_commit=False, fetch_max_wait_ms=1
    )
    await consumer.start()
    await consumer.topics()
    partitions = consumer.partitions_for_topic(DELIVERY_TOPIC) or set()
    tps = [TopicPartition(DELIVERY_TOPIC, p) for p in sorted(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return consumer


async def _read_registered(kafka: str, watch: Watch, count: int) -> None:
    """The registrations' records, read after the run (their times are in the log): read
    live, a second topic at a 1 ms fetch wait loaded the broker the stack shares."""
    reader = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await reader.start()
    try:
        await reader.topics()
        partitions = reader.partitions_for_topic(ENTERPRISE_TOPIC) or set()
        tps = [TopicPartition(ENTERPRISE_TOPIC, p) for p in sorted(partitions)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        seen, quiet = 0, 0
        while seen < count + WARM_UP and quiet < 5:
            batches = await reader.getmany(timeout_ms=200, max_records=10_000)
            got = [record for records in batches.values() for record in records]
            quiet = 0 if got else quiet + 1
            seen += len(got)
            for record in got:
                watch.see_registered(record)
    finally:
        await reader.stop()


@dataclass
class Phase:
    rate: float
    nibs: list[str]
    scheduled: list[float]
    http_ms: list[float]
    statuses: list[int]


async def _load(http: LeanHttp, rate: float, seconds: float, tag: str, first: int) -> Phase:
    """Open loop: request i is sent at its scheduled time, answered or not the ones before."""
    count = int(rate * seconds)
    phase = Phase(rate, [], [], [0.0] * count, [0] * count)
    tasks: list[asyncio.Task[None]] = []

    async def send(n: int, body: dict[str, object], due: float) -> None:
        phase.statuses[n] = await http.post("/enterprises", body)
        phase.http_ms[n] = (time.perf_counter() - due) * 1000

    start = time.perf_counter() + 0.05
    for n in range(count):
        body = json_body(first + n, tag)
        due = start + n / rate
        phase.nibs.append(str(body["nib"]))
        phase.scheduled.append(due)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(n, body, due)))
    await asyncio.gather(*tasks)
    return phase


async def _drained(watch: Watch, nibs: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(n not in watch.delivered for n in nibs) and time.monotonic() < deadline:
        watch.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.arrived.wait(), 0.5)


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    pick = {"p50": 0.50, "p90": 0.90, "p99": 0.99}
    found = {k: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for k, q in pick.items()}
    return {**found, "max": ordered[-1]}


@dataclass
class Stack:
    broker: EmbeddedKafka
    sink: _SinkProcess
    processes: list[subprocess.Popen[bytes]]
    registry_url: str
    notify_db: Path

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        self.sink.stop()
        self.broker.stop()

    def pids(self) -> dict[str, int]:
        registry, notify = (process.pid for process in self.processes)
        named = {"registry": registry, "notify": notify, "SMTP sink": self.sink.pid}
        return {**named, "broker": self.broker.pid or 0, "bench": os.getpid()}


async def _start_stack(workdir: Path) -> Stack:
    broker = EmbeddedKafka().start()
    kafka = broker.bootstrap_servers
    await ensure_topics(kafka, [ENTERPRISE_TOPIC, DELIVERY_TOPIC], partitions=3)
    sink = _SinkProcess(workdir / "smtp")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        registry, url = await asyncio.to_thread(
            start_service, "services.registry.main:create_app", kafka, workdir / "registry"
        )
        processes.append(registry)
        env = {"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(sink.port)}
        notify, _ = await asyncio.to_thread(
            start_service, "services.notify.main:create_app", kafka, workdir / "notify", env
        )
        processes.append(notify)
    except BaseException:
        Stack(broker, sink, processes, "", Path()).stop()
        raise
    return Stack(broker, sink, processes, url, workdir / "notify" / "data" / "notify.db")


async def run(kafka: str, workdir: Path) -> list[Figure]:
    del kafka  # a private broker: see the module docstring
    for part in ("registry", "notify"):
        (workdir / part).mkdir(parents=True, exist_ok=True)
    stack = await _start_stack(workdir)
    tag = f"5{random.randrange(1000):03d}"
    prefix = f"enterprise:{tag}"
    receiver, sender = multiprocessing.get_context("spawn").Pipe()
    watcher = multiprocessing.get_context("spawn").Process(
        target=watch_inbox, args=(str(stack.notify_db), prefix, sender), daemon=True
    )
    watcher.start()
    pids = {**stack.pids(), "inbox probe": watcher.pid or 0}
    try:
        return await _measure(stack, tag, prefix, receiver, pids)
    finally:
        watcher.kill()
        stack.stop()


async def _measure(
    stack: Stack, tag: str, prefix: str, inbox: Connection, pids: dict[str, int]
) -> list[Figure]:
    kafka = stack.broker.bootstrap_servers
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    http = LeanHttp(stack.registry_url, token)
    await http.open(CONNECTIONS)
    reader = await _delivery_reader(kafka)
    watch = Watch(prefix)
    consuming = asyncio.create_task(_consume(reader, watch))
    phases: list[Phase] = []
    cpu: dict[float, dict[str, float]] = {}
    try:
        warm = await _load(http, 50, WARM_UP / 50, tag, 900_000_000)
        await _drained(watch, warm.nibs, 60)
        first = 0
        for rate in _rates():
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            phase = await _load(http, rate, _seconds(), tag, first)
            first += len(phase.nibs)
            await _drained(watch, phase.nibs, DRAIN_SECONDS)
            cpu[rate] = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            phases.append(phase)
        await asyncio.sleep(2)  # a late duplicate would arrive in this grace period
    finally:
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        await reader.stop()
        await http.close()
    seen = _inbox_times(inbox)
    watch.hops.read_notify_db(stack.notify_db, prefix)
    await _read_registered(kafka, watch, sum(len(p.nibs) for p in phases))
    figures: list[Figure] = []
    for phase in phases:
        figures += _phase_figures(phase, watch, seen)
        figures += _cpu_figures(phase, cpu[phase.rate])
        for nib, due in zip(phase.nibs, phase.scheduled, strict=True):
            watch.hops.put(nib, "scheduled", due)
            if f"enterprise:{nib}" in seen:
                watch.hops.put(nib, "inbox readable", seen[f"enterprise:{nib}"])
        figures += watch.hops.figures(f"{phase.rate:.0f} req/s open loop", phase.nibs)
    return figures


def _inbox_times(pipe: Connection) -> dict[str, float]:
    pipe.send("stop")
    if not pipe.poll(30):
        return {}
    seen: dict[str, float] = pipe.recv()
    return seen


def _phase_figures(phase: Phase, watch: Watch, inbox: dict[str, float]) -> list[Figure]:
    rate = phase.rate
    name = f"{rate:.0f} req/s open loop"
    e2e = [
        (watch.delivered[nib][0] - due) * 1000
        for nib, due in zip(phase.nibs, phase.scheduled, strict=True)
        if nib in watch.delivered
    ]
    readable = [
        (inbox[f"enterprise:{nib}"] - due) * 1000
        for nib, due in zip(phase.nibs, phase.scheduled, strict=True)
        if f"enterprise:{nib}" in inbox
    ]
    once = sum(len(watch.delivered.get(nib, ())) == 1 for nib in phase.nibs)
    print(f"latency {name}: e-mail delivered event {_summary(e2e)}; inbox readable"
          f" {_summary(readable)}; HTTP {_summary(phase.http_ms)}; {once}/{len(phase.nibs)}"
          " delivered exactly once")  # fmt: skip
    accepted = sum(s == 201 for s in phase.statuses)
    stated = rate == TARGETS_AT
    figures = [
        Figure("latency", f"{name}: registrations answered 201", accepted,
               f"/ {len(phase.nibs)}", target="all", met=accepted == len(phase.nibs)),
        Figure("latency", f"{name}: e-mail delivered event exactly once", once,
               f"/ {len(phase.nibs)}", target="all", met=once == len(phase.nibs)),
        Figure("latency", f"{name}: owner in-app message seen", len(readable),
               f"/ {len(phase.nibs)}", target="all", met=len(readable) == len(phase.nibs)),
    ]  # fmt: skip
    targets = {"p50": P50_TARGET_MS, "p99": P99_TARGET_MS} if stated else {}
    figures += _latency_figures(f"{name}: registration -> e-mail delivered event", e2e, targets)
    inbox_targets = {"p99": INBOX_P99_TARGET_MS} if stated else {}
    figures += _latency_figures(f"{name}: registration -> inbox readable", readable, inbox_targets)
    figures += _latency_figures(f"{name}: HTTP response", phase.http_ms, {})
    return figures


def _cpu_figures(phase: Phase, used: dict[str, float]) -> list[Figure]:
    """Each process's CPU per registration over the phase and its drain: where the two
    cores go at this rate (queueing for them is what the latency pays under load)."""
    name = f"{phase.rate:.0f} req/s open loop"
    per = {part: seconds * 1000 / len(phase.nibs) for part, seconds in used.items()}
    busy = sum(used.values()) / _seconds()
    print(f"latency {name}: CPU ms per registration "
          + ", ".join(f"{part} {ms:.2f}" for part, ms in per.items())
          + f" (all {sum(per.values()):.2f}: {busy:.2f} cores over the load)")  # fmt: skip
    return [Figure("latency", f"{name}: CPU per registration, {part}", ms, "ms")
            for part, ms in per.items()]  # fmt: skip


def _summary(values: list[float]) -> str:
    return " ".join(f"{k} {v:,.1f}" for k, v in _percentiles(values).items()) + " ms"


def _latency_figures(name: str, values: list[float], targets: dict[str, float]) -> list[Figure]:
    figures = []
    for stat, value in _percentiles(values).items():
        target = targets.get(stat)
        figures.append(
            Figure(
                "latency", f"{name} {stat}", value, "ms",
                target=None if target is None else f"< {target:.0f} ms",
                met=None if target is None else value < target,
            )
        )  # fmt: skip
    return figures
