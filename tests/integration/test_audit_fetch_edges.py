"""The replay's own record decoder (``ikmkit.audit.fetch``) against aiokafka's ``getmany`` on
a real broker, on what test_audit_fetch does not cover: every compression codec this
environment has, records near 1 MiB, many one-record batches, a read seeked into the middle
of a compressed batch, several partitions read by parallel readers, and a tampered log,
whose replay findings must not depend on which decoder read it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka import codec as kafka_codec

from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.audit import fetch
from ikmkit.audit.replay import replay
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from tests.support.audit_log import publish_events
from tests.support.log_read import read_log
from tests.support.values import random_nib

CODECS = {"gzip": kafka_codec.has_gzip, "snappy": kafka_codec.has_snappy,
          "lz4": kafka_codec.has_lz4, "zstd": kafka_codec.has_zstd}  # fmt: skip


read_fast = partial(read_log, entries=True, require_fast_path=True)
read_getmany = partial(read_log, entries=False)


async def _produce(
    kafka: str, topic: str, count: int, *, partitions: int = 1, **options: Any
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, **options)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                None if n % 5 == 2 else b'{"n":%d}' % n,
                key=None if n % 3 == 1 and n % 5 != 2 else b"k%d" % n,
                partition=n % partitions,
                headers=[("ce_id", b"%d" % n), ("none", None), ("empty", b"")][: n % 4],
            )
            for n in range(count)
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()


@pytest.fixture
async def topic(kafka: str) -> AsyncIterator[str]:
    name = f"audit-edges-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [name], partitions=3)
    yield name
    await delete_topics(kafka, [name])


async def _same(kafka: str, topic: str, total: int, **options: Any) -> dict[int, list[Any]]:
    expected = await read_getmany(kafka, topic, **options)
    assert sum(map(len, expected[0].values())) == total
    assert await read_fast(kafka, topic, **options) == expected
    return expected[0]


@pytest.mark.parametrize("codec", list(CODECS))
async def test_each_codec_decodes_as_getmany_does(kafka: str, topic: str, codec: str) -> None:
    if not CODECS[codec]():
        pytest.skip(f"{codec} is not installed here (aiokafka's optional codec package)")
    await _produce(kafka, topic, 300, partitions=3, compression_type=codec, linger_ms=20)
    await _same(kafka, topic, 300)


async def test_records_near_one_mebibyte(kafka: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for n in range(6):
            value = None if n == 3 else bytes([65 + n]) * (1_000_000 - n)
            await (await producer.send(topic, value, key=b"k%d" % n, partition=0))
    finally:
        await producer.stop()
    read = await _same(kafka, topic, 6)
    assert [len(r[2] or b"") for r in read[0]] == [1_000_000, 999_999, 999_998, 0, 999_996, 999_995]


async def test_many_one_record_batches(kafka: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=0)
    await producer.start()
    try:
        for n in range(400):  # each awaited: a batch per record
            await (await producer.send(topic, b"%d" % n, key=None, partition=n % 3))
    finally:
        await producer.stop()
    await _same(kafka, topic, 400)


async def test_seeked_into_the_middle_of_a_compressed_batch(kafka: str, topic: str) -> None:
    await _produce(kafka, topic, 300, compression_type="gzip", linger_ms=50, partitions=1)
    read = await _same(kafka, topic, 300)
    offsets = [r[0] for r in read[0]]
    for middle in (offsets[7], offsets[151], offsets[-2]):
        expected, positions = await read_getmany(kafka, topic, seek={0: middle})
        assert [r[0] for r in expected[0]] == [o for o in offsets if o >= middle]
        assert await read_fast(kafka, topic, seek={0: middle}) == (expected, positions)


async def test_partitions_read_in_parallel_shards(kafka: str, topic: str) -> None:
    await _produce(kafka, topic, 600, partitions=3, compression_type="gzip", linger_ms=5)
    whole = await _same(kafka, topic, 600)
    shards = [(i, 2) for i in range(2)]
    fast = await asyncio.gather(*(read_fast(kafka, topic, shard=s) for s in shards))
    slow = await asyncio.gather(*(read_getmany(kafka, topic, shard=s) for s in shards))
    assert fast == slow
    assert {p: r for part, _ in fast for p, r in part.items()} == whole


async def test_replay_findings_on_a_tampered_log_are_those_of_getmany(
    audit_kafka: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intact, tampered, gapped = random_nib(), random_nib(), random_nib()
    await publish_events(
        audit_kafka, tmp_path, {intact: 4, tampered: 5, gapped: 5},
        tamper=[(tampered, 2), (gapped, 2)], drop=[(gapped, 3)],
    )  # fmt: skip
    runs = [await replay(audit_kafka, [ENTERPRISE_TOPIC], workers=w) for w in (1, 3)]
    monkeypatch.setattr(fetch, "supports", lambda consumer: False)  # getmany from here
    runs += [await replay(audit_kafka, [ENTERPRISE_TOPIC], workers=w) for w in (1, 3)]
    seen = [(r.read, r.streams, sorted(map(str, r.findings))) for r in runs]
    assert seen[0] == seen[1] == seen[2] == seen[3]
    assert sum(1 for f in runs[0].findings if f.subject == tampered) == 1
    assert sum(1 for f in runs[0].findings if f.subject == gapped) == 2
    assert not any(f.subject == intact for f in runs[0].findings)
