"""A fetch's records straight from aiokafka's buffer, without a ``ConsumerRecord`` each.

``AIOKafkaConsumer.getmany`` wraps every record its C decoder made (offset, key, value,
headers) into a ``ConsumerRecord`` through a Python generator: a third of the client's
decoding cost, for fields the audit never reads. ``take`` drains the consumer's fetched
buffers as ``getmany(max_records=None)`` does (same assignment checks, same positions
afterwards, the same next fetch started), decoding each buffered response itself the way
aiokafka's ``PartitionRecords`` does: CRC checked per batch, control batches skipped,
records before the fetch position (inside a compressed batch) skipped. Records are the
decoder's own ``DefaultRecord``/``LegacyRecord`` (``offset``, ``key``, ``value``,
``headers``; headers a list, not a tuple).

Only this consumer's buffers are touched (nothing is patched). The internals it reads are
those of the aiokafka version locked in uv.lock; ``supports`` checks them, and the reader
falls back to ``getmany`` when any is missing. Transactional reads (``read_committed``)
and deserialisers, which the audit reader does not use, take aiokafka's own decoding.
tests/integration/test_audit_fetch.py holds ``take`` to ``getmany`` record for record.
"""

from __future__ import annotations

import asyncio
from operator import attrgetter, lt
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ConsumerStoppedError, CorruptRecordException

try:  # internals: a newer aiokafka without them makes the reader use getmany
    from aiokafka.consumer.fetcher import READ_UNCOMMITTED, FetchResult, PartitionRecords
except ImportError:  # pragma: no cover - depends on the installed aiokafka
    FetchResult = PartitionRecords = None
    READ_UNCOMMITTED = 0


class LogEntry(Protocol):
    """What the audit reads of a decoded record."""

    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Any: ...  # a sequence of (name, value) pairs


_offset = attrgetter("offset")
_FETCHER = (
    "_records", "_subscriptions", "_notify", "_wait_consume_future", "_create_fetch_waiter",
    "_closed",
)  # fmt: skip
_PARTITION_RECORDS = (
    "_records", "_check_crcs", "_isolation_level", "_key_deserializer", "_value_deserializer",
)  # fmt: skip


def supports(consumer: AIOKafkaConsumer) -> bool:
    """Whether this aiokafka has the internals ``take`` reads (once the consumer started)."""
    fetcher = getattr(consumer, "_fetcher", None)
    subscription = getattr(consumer, "_subscription", None)
    return (
        FetchResult is not None
        and fetcher is not None
        and all(hasattr(fetcher, name) for name in _FETCHER)
        and hasattr(subscription, "fetch_context")
        and all(hasattr(FetchResult, name) for name in ("check_assignment", "_update_position"))
        and "_unpack_records" in vars(PartitionRecords)
    )


async def take(consumer: AIOKafkaConsumer, timeout: float) -> dict[TopicPartition, list[LogEntry]]:
    """``getmany(timeout_ms=timeout * 1000, max_records=None)``, records left undecorated."""
    if consumer._closed:
        raise ConsumerStoppedError()
    fetcher = consumer._fetcher
    if fetcher._subscriptions.reassignment_in_progress:
        await fetcher._subscriptions.wait_for_assignment()
    with consumer._subscription.fetch_context():
        drained = _drain(fetcher)
        if drained or not timeout:
            return drained
        waiter = fetcher._create_fetch_waiter()
        done, pending = await asyncio.wait([waiter], timeout=timeout)
        for future in pending:
            future.cancel()
        if not done or fetcher._closed:
            return {}
        return _drain(fetcher)


def _drain(fetcher: Any) -> dict[TopicPartition, list[LogEntry]]:
    """``Fetcher.fetched_records`` for every partition with ``max_records=None``."""
    drained: dict[TopicPartition, list[LogEntry]] = {}
    buffered = fetcher._records
    for tp in list(buffered):
        result = buffered[tp]
        if type(result) is FetchResult:
            records = _take_result(tp, result)
            del buffered[tp]  # all taken: the partition is fetched again
            fetcher._notify(fetcher._wait_consume_future)
            if records:
                drained[tp] = records
        elif drained:
            return drained  # the error is raised by the next call, as getmany does
        else:
            del buffered[tp]
            fetcher._notify(fetcher._wait_consume_future)
            result.check_raise()
    return drained


def _take_result(tp: TopicPartition, result: Any) -> list[LogEntry]:
    """``FetchResult.getall()``: every record of the response, the position moved past it."""
    if not result.check_assignment(tp) or not result.has_more():
        return []
    partition_records = result._partition_records
    records = _decode(tp, partition_records)
    result._update_position()
    result._partition_records = None
    return records


def _from(decoded: list[LogEntry], position: int) -> list[LogEntry]:
    """aiokafka's rule per record: skip any below the position, which passes each one kept
    (a compressed batch holds records before the fetch offset)."""
    kept = []
    for record in decoded:
        if record.offset >= position:
            kept.append(record)
            position = record.offset + 1
    return kept


def _decode(tp: TopicPartition, partition_records: Any) -> list[LogEntry]:
    """``PartitionRecords._unpack_records`` without the ``ConsumerRecord`` per record."""
    if (
        not all(hasattr(partition_records, name) for name in _PARTITION_RECORDS)
        or partition_records._isolation_level != READ_UNCOMMITTED
        or partition_records._key_deserializer is not None
        or partition_records._value_deserializer is not None
    ):
        return list(partition_records)  # aiokafka's own decoding (aborted transactions...)
    buffer = partition_records._records
    position = partition_records.next_fetch_offset
    check_crcs = partition_records._check_crcs
    records: list[LogEntry] = []
    while buffer.has_next():
        batch = buffer.next_batch()
        if check_crcs and not batch.validate_crc():
            raise CorruptRecordException(f"Invalid CRC - {tp}")
        if not batch.is_control_batch:
            decoded = list(batch)
            offsets = list(map(_offset, decoded))
            if offsets and (offsets[0] < position or not all(map(lt, offsets, offsets[1:]))):
                decoded = _from(decoded, position)
            records += decoded
        position = partition_records.next_fetch_offset = batch.next_offset
    return records
