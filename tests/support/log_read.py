"""A topic read whole by the audit's ``LogReader``, one way or the other: its own decoding of
fetched record batches (``entries``) or aiokafka's ``getmany`` (``batches``), for tests that
hold the two to the same answers."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from ikmkit.audit import fetch
from ikmkit.audit.reader import LogReader


def record_fields(records: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.offset, r.key, r.value, tuple(r.headers)) for r in records]


async def read_log(
    kafka: str, topic: str, *, entries: bool, require_fast_path: bool = False,
    seek: dict[int, int] | None = None, shard: tuple[int, int] | None = None,
) -> tuple[dict[int, list[Any]], dict[TopicPartition, int]]:  # fmt: skip
    """Each partition's (offset, key, value, headers) and where the consumer ended;
    ``require_fast_path``: assert the reader decodes the fetched batches itself."""
    reader = LogReader(kafka, [topic], shard=shard)
    await reader.open()
    read: dict[int, list[Any]] = {}
    try:
        for partition, offset in (seek or {}).items():
            reader._consumer.seek(TopicPartition(topic, partition), offset)
        if require_fast_path:
            assert fetch.supports(reader._consumer)
        if entries:
            async for tp, found in reader.entries():
                read.setdefault(tp.partition, []).extend(record_fields(found))
        else:
            async for batch in reader.batches():
                read.setdefault(batch[0].partition, []).extend(record_fields(batch))
        positions = {tp: await reader._consumer.position(tp) for tp in reader.end_offsets}
    finally:
        await reader.close()
    return read, positions
