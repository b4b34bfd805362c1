"""The audit verifier alone (no Kafka): the audit bench's platform events (the registry's
outbox stamps and chains them, the relay's ``row_message`` makes the records) through
``ChainVerifier.check_partition`` in per-partition batches of ``CHUNK`` records with the
collector paused, as the replay feeds it. Reports CPU
time per record (steadier than wall time on a shared machine). For profiling the
verification half of ``bench/audit.py``:

    python -m bench._audit_alone [--profile out.prof] [--events 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
import zlib
from datetime import UTC, datetime, timedelta

from bench.audit import AGGREGATES, PARTITIONS, OutboxRows
from contracts.registry import EnterpriseVerified
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.replay import CHUNK
from ikmkit.collector import collector_paused
from ikmkit.messaging.outbox import Outbox, row_message
from tests.support.records import Record

TOPIC = "ikm.bench.auditalone.v1"


async def records(events: int) -> list[list[Record]]:
    """Per partition, the records in offset order (partition chosen by key, as a producer)."""
    outbox, rows = Outbox("/ikm/registry"), OutboxRows()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    parts: list[list[Record]] = [[] for _ in range(PARTITIONS)]
    for start in range(0, events, AGGREGATES):
        batch = [
            EnterpriseVerified(
                nib=f"{1_000_000_000_000 + n % AGGREGATES}",
                province="34",
                verified_by=f"officer-{n}",
                verified_at=at + timedelta(seconds=n),
            )
            for n in range(start, min(start + AGGREGATES, events))
        ]
        rows.outbox.clear()
        await outbox.add_many(rows, batch)  # type: ignore[arg-type]
        for row in rows.outbox:
            message = row_message({**row, "topic": TOPIC})
            index = zlib.crc32(message.key) % PARTITIONS
            part = parts[index]
            part.append(
                Record(TOPIC, index, len(part), message.key, message.value, message.headers)
            )
    return parts


def verify(parts: list[list[Record]], batch: int) -> float:
    """CPU seconds to verify every partition in batches of ``batch`` records, as the replay
    does (``check_partition``, the collector paused)."""
    verifier = ChainVerifier()
    with collector_paused():
        cpu = time.process_time()
        for index, part in enumerate(parts):
            for start in range(0, len(part), batch):
                verifier.check_partition(TOPIC, index, part[start : start + batch])
        cpu = time.process_time() - cpu
    findings = verifier.finish()
    assert not findings, findings[:3]
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=CHUNK)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile")
    args = parser.parse_args()
    parts = asyncio.run(records(args.events))
    total = sum(len(p) for p in parts)
    for _ in range(args.rounds):
        print(f"{total:,} records: cpu {verify(parts, args.batch) / total * 1e6:.2f} us/record")
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(verify, parts, args.batch)
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
