"""On a real broker, the replay's reader yields exactly what aiokafka's ``getmany`` yields.

``LogReader.entries`` drains the consumer's fetched responses itself (``ikmkit.audit.fetch``)
instead of ``getmany``; read side by side on the same topic (plain and gzip batches, keys,
tombstones, headers with empty and absent values, several partitions), the two give the same
(offset, key, value, headers) per partition, and the consumer ends at the same positions.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from ikmkit.audit import fetch
from ikmkit.audit.reader import LogReader
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from tests.support.log_read import read_log

PARTITIONS = 3


@pytest.fixture
async def topic(kafka: str) -> AsyncIterator[str]:
    name = f"audit-fetch-{uuid.uuid4().hex[:8]}"  # not ikm.*: no service reads it
    await ensure_topics(kafka, [name], partitions=PARTITIONS)
    for compression in (None, "gzip"):
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka, linger_ms=20, compression_type=compression
        )
        await producer.start()
        try:
            futures = [
                await producer.send(
                    name,
                    None if n % 7 == 3 else b'{"n":%d}' % n,
                    key=None if n % 11 == 5 and n % 7 != 3 else b"k%d" % (n % 13),
                    partition=n % PARTITIONS,
                    headers=[("ce_id", b"%d" % n), ("empty", b""), ("none", None)][: n % 4],
                )
                for n in range(600)
            ]
            for future in futures:
                await future
        finally:
            await producer.stop()
    yield name
    await delete_topics(kafka, [name])


async def test_entries_are_what_getmany_yields(kafka: str, topic: str) -> None:
    expected, expected_positions = await read_log(kafka, topic, entries=False)
    assert sum(len(records) for records in expected.values()) == 1200
    reader = LogReader(kafka, [topic])
    await reader.open()
    try:
        assert fetch.supports(reader._consumer)  # the locked aiokafka: the fast path is taken
    finally:
        await reader.close()
    read, positions = await read_log(kafka, topic, entries=True)
    assert read == expected
    assert positions == expected_positions


async def test_without_the_internals_entries_take_getmany(
    kafka: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, _ = await read_log(kafka, topic, entries=False)
    taken: list[int] = []
    monkeypatch.setattr(fetch, "supports", lambda consumer: False)
    monkeypatch.setattr(fetch, "take", lambda *args: taken.append(1))
    read, _ = await read_log(kafka, topic, entries=True)
    assert read == expected
    assert not taken
