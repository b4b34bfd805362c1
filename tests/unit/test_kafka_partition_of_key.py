"""The relay's publisher picks a message's partition by its key as aiokafka's (and Java's)
``DefaultPartitioner`` does (murmur2 of the key, positive, modulo the partitions): the same
key lands on the same partition whichever client published it. Compared with aiokafka's own
for keys of every length up to 80 bytes, random and the shapes the services use."""

from __future__ import annotations

import random
import uuid

from aiokafka.partitioner import DefaultPartitioner, murmur2

from ikmkit.messaging.partitions import murmur2 as fast_murmur2
from ikmkit.messaging.partitions import partition_of


def _keys() -> list[bytes]:
    rng = random.Random(2026)
    keys = [bytes(rng.randrange(256) for _ in range(n)) for n in range(81) for _ in range(25)]
    keys += [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(500)]
    keys += [f"9{n:012d}".encode() for n in range(500)]  # NIBs
    keys += ["Déwi Ṡiti 中文".encode(), b"", b"\x00", b"\xff" * 7]
    return keys


def test_murmur2_equals_aiokafkas() -> None:
    for key in _keys():
        assert fast_murmur2(key) == murmur2(key), key


def test_the_partition_equals_the_default_partitioners() -> None:
    for partitions in ([0], [0, 1, 2], list(range(7)), list(range(12))):
        for key in _keys():
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert partition_of(key, partitions) == expected, (key, partitions)
