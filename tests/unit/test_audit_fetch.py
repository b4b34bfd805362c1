"""The replay's decoder yields exactly the records aiokafka's own decoding yields.

``ikmkit.audit.fetch`` decodes a fetched partition response without a ``ConsumerRecord`` per
record. Fed the same response, it must give the same (offset, key, value, headers), in the
same order, and leave the same next fetch offset as aiokafka's ``PartitionRecords``: over
plain and compressed batches, control batches, a fetch offset inside a compressed batch,
offsets that repeat or go back, empty keys, values and headers, and a corrupt batch.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.consumer.fetcher import READ_UNCOMMITTED, PartitionRecords
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c

from ikmkit.audit import fetch

TP = TopicPartition("ikm.test.fetch.v1", 0)
GZIP = DefaultRecordBatch.CODEC_GZIP
HEADERS = [("ce_id", b"1"), ("ce_type", b"t"), ("empty", b""), ("none", None)]


def _batch(
    base: int, deltas: list[int], *, codec: int = 0, control: bool = False, key: bytes = b"k"
) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=codec,
        is_transactional=int(control),
        producer_id=7 if control else -1,
        producer_epoch=0 if control else -1,
        base_sequence=0 if control else -1,
        batch_size=1 << 20,
    )
    for n, delta in enumerate(deltas):
        headers = HEADERS[: n % (len(HEADERS) + 1)]
        value = None if n == 3 else b'{"n":%d}' % (base + delta)
        builder.append(delta, timestamp=1_000 + n, key=None if n == 2 else key, value=value,
                       headers=headers)  # fmt: skip
    buffer = bytearray(builder.build())
    struct.pack_into(">q", buffer, 0, base)
    if control:  # only brokers write control batches: set the flag, then the CRC again
        # v2 batch header: base offset, length, leader epoch, magic, CRC, attributes...
        attributes_at, crc_at = struct.calcsize(">qiibI"), struct.calcsize(">qiib")
        (attributes,) = struct.unpack_from(">h", buffer, attributes_at)
        struct.pack_into(">h", buffer, attributes_at, attributes | 0x20)  # the control flag
        struct.pack_into(">I", buffer, crc_at, calc_crc32c(bytes(buffer[attributes_at:])))
    return bytes(buffer)


def _partition_records(data: bytes, fetch_offset: int) -> Any:
    return PartitionRecords(
        TP, MemoryRecords(data), [], fetch_offset, None, None, True, READ_UNCOMMITTED
    )


def _fields(records: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.offset, r.key, r.value, tuple(r.headers)) for r in records]


def _agree(data: bytes, fetch_offset: int = 0) -> list[tuple[Any, ...]]:
    theirs = _partition_records(data, fetch_offset)
    expected = _fields(list(theirs))
    ours = _partition_records(data, fetch_offset)
    assert _fields(fetch._decode(TP, ours)) == expected
    assert ours.next_fetch_offset == theirs.next_fetch_offset
    return expected


def test_plain_and_compressed_batches() -> None:
    data = _batch(0, list(range(6))) + _batch(6, list(range(5)), codec=GZIP) + _batch(11, [0])
    read = _agree(data)
    assert [r[0] for r in read] == list(range(12))
    assert read[2][1] is None and read[3][2] is None  # no key, no value
    assert ("none", None) in read[4][3] and ("empty", b"") in read[3][3]


@pytest.mark.parametrize("fetch_offset", [0, 3, 4])
def test_a_fetch_offset_inside_a_compressed_batch(fetch_offset: int) -> None:
    data = _batch(0, list(range(5)), codec=GZIP) + _batch(5, list(range(5)), codec=GZIP)
    read = _agree(data, fetch_offset)
    assert [r[0] for r in read] == list(range(fetch_offset, 10))
    # past a whole batch (no broker answers so): each batch's end resets aiokafka's position
    _agree(data, 7)


def test_control_batches_are_skipped() -> None:
    data = _batch(0, [0, 1]) + _batch(2, [0], control=True, key=b"\0\0\0\1") + _batch(3, [0, 1])
    assert [r[0] for r in _agree(data)] == [0, 1, 3, 4]
    assert _agree(_batch(0, [0], control=True, key=b"\0\0\0\1")) == []


@pytest.mark.parametrize("deltas", [[0, 2, 1, 3], [0, 1, 1, 2], [3, 1, 2, 5], [0, 0]])
@pytest.mark.parametrize("codec", [0, GZIP])
def test_offsets_out_of_order_follow_aiokafkas_rule(deltas: list[int], codec: int) -> None:
    _agree(_batch(10, deltas, codec=codec), 11)
    _agree(_batch(10, deltas, codec=codec), 10)


def test_a_corrupt_batch_raises_as_aiokafka_does() -> None:
    data = bytearray(_batch(0, [0, 1]))
    data[-1] ^= 0xFF
    with pytest.raises(CorruptRecordException):
        list(_partition_records(bytes(data), 0))
    with pytest.raises(CorruptRecordException):
        fetch._decode(TP, _partition_records(bytes(data), 0))


def test_transactional_reads_keep_aiokafkas_decoding() -> None:
    records = _partition_records(_batch(0, [0, 1]), 0)
    records._isolation_level = 1  # read_committed: aborted transactions need aiokafka's logic
    decoded = fetch._decode(TP, records)
    assert [type(r).__name__ for r in decoded] == ["ConsumerRecord", "ConsumerRecord"]
