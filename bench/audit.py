"""Audit replay speed: decode + contract validation + hash-chain check vs raw consumption.

Writes ``EVENTS`` chained events (``AGGREGATES`` aggregates) to a fresh topic exactly as
the platform writes them (the outbox stamps and chains them, the relay's ``row_message``
makes the records: RFC 8785 payloads marked ``ce_hashcanon``), then reads the topic
several times in the same run with identical fetch settings: raw aiokafka consumption
(records only), and ``ikmkit.audit.replay`` (decode, validate against the contract, check sequence
and hash per aggregate), in one process and split by partition over worker processes
(what ``ikm audit replay`` does for large logs). Each is run ``ROUNDS`` times and the
best counts; the one-off start of the fork server is reported apart (a first parallel
run minus a warm one). Targets: replay at >= 0.8 of raw throughput in one process,
>= 0.95 with workers.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.common import Figure
from contracts.registry import EnterpriseVerified
from ikmkit.audit.reader import LogReader
from ikmkit.audit.replay import DEFAULT_WORKERS, replay
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.messaging.outbox import OUTBOX, Outbox, row_message

EVENTS = 100_000
AGGREGATES = 10_000
ROUNDS = 2
PARTITIONS = 3
TARGET = 0.8
TARGET_PARALLEL = 0.95


class OutboxRows:
    """The slice of a unit of work ``Outbox.add_many`` uses, in memory: the bench writes
    exactly the rows a service's outbox stores, without the store's cost."""

    def __init__(self) -> None:
        self.streams: dict[str, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []

    async def get_many(self, collection: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: self.streams[i] for i in ids if i in self.streams}

    async def insert_many(self, collection: str, docs: list[dict[str, Any]]) -> None:
        if collection == OUTBOX:
            self.outbox += docs
        else:
            self.streams.update((d["id"], d) for d in docs)

    async def replace(self, collection: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.streams[doc["id"]] = doc
        return doc


async def _write(kafka: str, topic: str) -> None:
    """The events as the platform writes them: the registry's outbox stamps and chains
    them (RFC 8785 payloads, ``ce_hashcanon``), the relay's ``row_message`` makes the
    Kafka messages; only the topic differs."""
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks=1, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        outbox, rows = Outbox("/ikm/registry"), OutboxRows()
        at = datetime(2026, 1, 1, tzinfo=UTC)
        for start in range(0, EVENTS, AGGREGATES):
            events = [
                EnterpriseVerified(
                    nib=f"{1_000_000_000_000 + n % AGGREGATES}",
                    province="34",
                    verified_by=f"officer-{n}",
                    verified_at=at + timedelta(seconds=n),
                )
                for n in range(start, min(start + AGGREGATES, EVENTS))
            ]
            rows.outbox.clear()
            await outbox.add_many(rows, events)  # type: ignore[arg-type]
            futures = []
            for row in rows.outbox:
                message = row_message({**row, "topic": topic})
                futures.append(
                    await producer.send(
                        topic, message.value, key=message.key, headers=message.headers
                    )
                )
            for future in futures:
                await future
    finally:
        await producer.stop()


async def _raw(kafka: str, topic: str) -> tuple[float, float]:
    """Seconds (wall, CPU of this process) to consume the topic with aiokafka, doing nothing
    with the records."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = LogReader(kafka, [topic])
    await reader.open()
    count = 0
    try:
        async for batch in reader.batches():
            count += len(batch)
    finally:
        await reader.close()
    assert count == EVENTS, f"raw read {count} of {EVENTS}"
    return time.perf_counter() - started, time.process_time() - cpu


async def _replay(kafka: str, topic: str, workers: int = 1) -> tuple[float, float]:
    """Seconds (wall clock, worker start-up included; CPU of this process) to replay the topic."""
    cpu = time.process_time()
    result = await replay(kafka, [topic], workers=workers)
    assert result.read == EVENTS, f"replay read {result.read} of {EVENTS}"
    assert not result.findings, result.findings[:3]
    return result.seconds, time.process_time() - cpu


async def run(kafka: str, workdir: Path) -> list[Figure]:
    topic = f"ikm.bench.audit{uuid.uuid4().hex[:8]}.v1"
    await ensure_topics(kafka, [topic], partitions=PARTITIONS)
    try:
        await _write(kafka, topic)
        raw, raw_cpu = min([await _raw(kafka, topic) for _ in range(ROUNDS)])
        single, single_cpu = min([await _replay(kafka, topic) for _ in range(ROUNDS)])
        # The first parallel run also starts the fork server (once per process).
        cold, _ = await _replay(kafka, topic, DEFAULT_WORKERS)
        parallel, _ = min([await _replay(kafka, topic, DEFAULT_WORKERS) for _ in range(ROUNDS)])
    finally:
        await delete_topics(kafka, [topic])
    ratio, ratio_single = raw / parallel, raw / single
    return [
        Figure("audit", "raw aiokafka consume (1 process)", EVENTS / raw, "events/s"),
        Figure("audit", "replay, 1 process", EVENTS / single, "events/s"),
        # CPU is steadier than wall time on a shared machine (the best run's CPU).
        Figure("audit", "raw consume CPU per record", raw_cpu / EVENTS * 1e6, "us"),
        Figure("audit", "replay CPU per record, 1 process", single_cpu / EVENTS * 1e6, "us"),
        Figure(
            "audit",
            "replay / raw, 1 process",
            ratio_single,
            "x",
            target=f">= {TARGET}",
            met=ratio_single >= TARGET,
        ),
        Figure("audit", f"replay, {DEFAULT_WORKERS} processes", EVENTS / parallel, "events/s"),
        Figure("audit", "worker start-up (fork server, once per run)", cold - parallel, "s"),
        Figure(
            "audit",
            f"replay / raw, {DEFAULT_WORKERS} processes (large logs)",
            ratio,
            "x",
            target=f">= {TARGET_PARALLEL}",
            met=ratio >= TARGET_PARALLEL,
        ),
    ]
