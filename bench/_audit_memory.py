"""Peak RSS of ``ikm audit replay`` at several log sizes (issue #14: its memory grew with the log).

For each size, writes ``aggregates`` x ``per`` chained events to a fresh topic of one broker
as the platform writes them (``bench.audit._write``: the registry's outbox stamps and chains
them, the relay's ``row_message`` makes the records) and stores the outbox's stream heads in
a registry SQLite store, then runs ``ikm audit replay --store registry`` on that topic in a
child process and reads its peak RSS: ``VmHWM``, the high-water mark of the CLI's own memory,
written by the child as it exits (``bench._cli_peak``, which ``make bench-scale`` uses too:
``ru_maxrss`` from ``wait4`` would carry the spawning process's high-water mark over ``exec``).

    python -m bench._audit_memory [--sizes 20000x2,100000x2] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import bench.audit as audit_bench
from bench._cli_peak import run_cli
from ikm_cli.audit_rebuild import load_definition
from ikmdev.infra import resolve_kafka
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OUTBOX_STREAMS
from ikmkit.store.resolve import store_for

os.environ.setdefault("IKM_ENV", "development")


async def _write(kafka: str, topic: str, aggregates: int, per: int) -> dict[str, dict[str, Any]]:
    """The topic's events; returns the outbox's stream heads (id ``<topic>|<aggregate>``)."""
    heads: dict[str, dict[str, Any]] = {}
    rows_class = audit_bench.OutboxRows

    class Rows(rows_class):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.streams = heads

    audit_bench.EVENTS, audit_bench.AGGREGATES = aggregates * per, aggregates
    audit_bench.OutboxRows = Rows  # type: ignore[misc]
    try:
        await ensure_topics(kafka, [topic], partitions=audit_bench.PARTITIONS)
        await audit_bench._write(kafka, topic)
    finally:
        audit_bench.OutboxRows = rows_class  # type: ignore[misc]
    return heads


async def _store_heads(data_dir: Path, topic: str, heads: dict[str, dict[str, Any]]) -> None:
    definition = load_definition("registry")
    store = store_for("registry", mongodb_url=None, data_dir=data_dir)
    await store.open(definition.store_collections())
    try:
        docs = [{**d, "id": f"{topic}|{d['id'].partition('|')[2]}"} for d in heads.values()]
        for start in range(0, len(docs), 5000):
            async with store.transaction() as uow:
                await uow.insert_many(OUTBOX_STREAMS, docs[start : start + 5000])
    finally:
        await store.close()


def _measure(kafka: str, workdir: Path, aggregates: int, per: int, workers: int) -> None:
    topic = f"ikm.bench.auditmem{uuid.uuid4().hex[:8]}.v1"
    heads = asyncio.run(_write(kafka, topic, aggregates, per))
    asyncio.run(_store_heads(workdir, topic, heads))
    report = workdir / f"{topic}.json"
    args = ["audit", "replay", "--kafka", kafka, "--topic", topic, "--store", "registry"]
    args += ["--workers", str(workers), "--report", str(report)]
    env = {**os.environ, "IKM_DATA_DIR": str(workdir)}
    seconds, own, code = run_cli(args, env, workdir / "replay.log")
    if code not in (0, 1):  # 1: findings (the report says)
        raise RuntimeError(f"ikm {' '.join(args)} exited {code}; see {workdir / 'replay.log'}")
    totals = json.loads(report.read_text())["totals"]
    print(
        f"{aggregates:,} aggregates x {per} = {totals['read']:,} events, workers {workers}: "
        f"peak RSS {own:.0f} MB, {seconds:.1f} s, "
        f"errors {totals['errors']}, streams {totals['streams']:,}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20000x2,100000x2", help="AGGREGATESxPER,...")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    kafka = resolve_kafka()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-auditmem-") as workdir:
            for size in args.sizes.split(","):
                aggregates, _, per = size.partition("x")
                _measure(kafka.bootstrap_servers, Path(workdir), int(aggregates), int(per),
                         args.workers)  # fmt: skip
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
