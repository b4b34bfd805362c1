"""Audit replay speed: decode + contract validation + hash-chain check vs raw consumption.

Writes ``EVENTS`` chained events (``AGGREGATES`` aggregates, chains computed by the
outbox's own ``chain_hash``) to a fresh topic, then reads the topic twice in the
same run with identical fetch settings: raw aiokafka consumption (records only),
and ``ikmkit.audit.replay`` (decode, validate against the contract, check sequence
and hash per aggregate), in one process and split by partition over worker processes
(what ``ikm audit replay`` does for large logs). Each is run ``ROUNDS`` times and the
best counts; the one-off start of the fork server is reported apart (a first parallel
run minus a warm one). Target: replay at >= 0.8 of raw throughput.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.common import Figure
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import EnterpriseVerified
from ikmkit.audit.reader import LogReader
from ikmkit.audit.replay import DEFAULT_WORKERS, replay
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.messaging.kafka import delete_topics, ensure_topics

EVENTS = 100_000
AGGREGATES = 10_000
ROUNDS = 2
PARTITIONS = 3
TARGET = 0.8


async def _write(kafka: str, topic: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks=1, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        previous: dict[str, str] = {}
        futures = []
        for n in range(EVENTS):
            nib = f"{1_000_000_000_000 + n % AGGREGATES}"
            sequence = n // AGGREGATES + 1
            event = EnterpriseVerified(
                nib=nib, province="34", verified_by=f"officer-{n}", verified_at=at
            )
            payload = event_payload(event)
            attrs = EnvelopeAttributes(
                id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry",
                time=at + timedelta(seconds=n), subject=nib, region="34",
                sequence=sequence, hash="",
            )  # fmt: skip
            digest = chain_hash(previous.get(nib, GENESIS_HASH), attrs, payload)
            previous[nib] = digest
            headers = to_headers(attrs.model_copy(update={"hash": digest}))
            futures.append(
                await producer.send(topic, payload.encode(), key=nib.encode(), headers=headers)
            )
            if len(futures) >= 5000:
                for future in futures:
                    await future
                futures.clear()
        for future in futures:
            await future
    finally:
        await producer.stop()


async def _raw(kafka: str, topic: str) -> float:
    """Seconds to consume the topic with aiokafka, doing nothing with the records."""
    started = time.perf_counter()
    reader = LogReader(kafka, [topic])
    await reader.open()
    count = 0
    try:
        async for batch in reader.batches():
            count += len(batch)
    finally:
        await reader.close()
    assert count == EVENTS, f"raw read {count} of {EVENTS}"
    return time.perf_counter() - started


async def _replay(kafka: str, topic: str, workers: int = 1) -> float:
    """Seconds to replay the topic (wall clock, worker start-up included)."""
    result = await replay(kafka, [topic], workers=workers)
    assert result.read == EVENTS, f"replay read {result.read} of {EVENTS}"
    assert not result.findings, result.findings[:3]
    return result.seconds


async def run(kafka: str, workdir: Path) -> list[Figure]:
    topic = f"ikm.bench.audit{uuid.uuid4().hex[:8]}.v1"
    await ensure_topics(kafka, [topic], partitions=PARTITIONS)
    try:
        await _write(kafka, topic)
        raw = min([await _raw(kafka, topic) for _ in range(ROUNDS)])
        single = min([await _replay(kafka, topic) for _ in range(ROUNDS)])
        # The first parallel run also starts the fork server (once per process).
        cold = await _replay(kafka, topic, DEFAULT_WORKERS)
        parallel = min([await _replay(kafka, topic, DEFAULT_WORKERS) for _ in range(ROUNDS)])
    finally:
        await delete_topics(kafka, [topic])
    ratio = raw / parallel
    return [
        Figure("audit", "raw aiokafka consume (1 process)", EVENTS / raw, "events/s"),
        Figure("audit", "replay, 1 process", EVENTS / single, "events/s"),
        Figure("audit", "replay / raw, 1 process", raw / single, "x"),
        Figure("audit", f"replay, {DEFAULT_WORKERS} processes", EVENTS / parallel, "events/s"),
        Figure("audit", "worker start-up (fork server, once per run)", cold - parallel, "s"),
        Figure(
            "audit",
            f"replay / raw, {DEFAULT_WORKERS} processes (large logs)",
            ratio,
            "x",
            target=f">= {TARGET}",
            met=ratio >= TARGET,
        ),
    ]
