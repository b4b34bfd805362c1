"""The audit bench's two reads, raw and replay, repeated on one topic, CPU per record each:

    python -m bench._audit_replay [--events 100000] [--rounds 3] [--profile out.prof]

``bench/audit.py`` writes the topic and reads it raw then replayed, best of 2 each; here
the reads alternate (raw, replay, raw, replay ...) so that both see the same load, and
each round prints both figures and their ratio. ``--profile`` adds one profiled replay
(cProfile on process time). Each round also replays with ``verify_chunk``
switched off (the per-record path, session 20's replay), unless ``--paths 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
import uuid

from bench import audit
from ikmdev.infra import resolve_kafka
from ikmkit.audit import chain_batch
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics

_VERIFY_CHUNK = chain_batch.verify_chunk


def _per_record(*_: object) -> None:
    """``verify_chunk`` declining every chunk: the per-record path of session 20."""


async def _rounds(kafka: str, args: argparse.Namespace) -> None:
    topic = f"ikm.bench.auditreplay{uuid.uuid4().hex[:8]}.v1"
    audit.EVENTS = args.events
    await ensure_topics(kafka, [topic], partitions=audit.PARTITIONS)
    try:
        await audit._write(kafka, topic)
        for _ in range(args.rounds):
            _, raw = await audit._raw(kafka, topic)
            line = f"raw {raw / args.events * 1e6:.2f} us/record"
            for name, chunked in (("replay", True), ("per-record", False))[: args.paths]:
                chain_batch.verify_chunk = _VERIFY_CHUNK if chunked else _per_record
                _, replay = await audit._replay(kafka, topic)
                line += f", {name} {replay / args.events * 1e6:.2f} (CPU ratio {raw / replay:.2f})"
            chain_batch.verify_chunk = _VERIFY_CHUNK
            print(line, flush=True)
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            await audit._replay(kafka, topic)
            profiler.disable()
            profiler.dump_stats(args.profile)
    finally:
        await delete_topics(kafka, [topic])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=audit.EVENTS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile")
    parser.add_argument(
        "--paths", type=int, default=2, help="2: also replay without the chunk path, 1: not"
    )
    args = parser.parse_args()
    kafka = resolve_kafka()
    try:
        asyncio.run(_rounds(kafka.bootstrap_servers, args))
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
