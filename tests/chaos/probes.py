"""What the running stack says about itself during and after a fault: every service's
/readyz, each consumer group's lag on the broker, and a group's dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from contracts.topics import dead_letter_topic
from tests.support.kafka import read_topic

CONSUMER_GROUPS = ("subsidy", "training", "notify", "insights")

Readiness = dict[str, tuple[int, dict[str, Any]]]
"""Per service: the /readyz status code and body (``0, {}`` when it did not answer)."""


async def readiness(urls: dict[str, str]) -> Readiness:
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(url: str) -> tuple[int, dict[str, Any]]:
            try:
                response = await client.get(f"{url}/readyz")
            except httpx.HTTPError:
                return 0, {}
            return response.status_code, dict(response.json())

        answers = await asyncio.gather(*(one(url) for url in urls.values()))
    return dict(zip(urls, answers, strict=True))


async def readiness_until(
    urls: dict[str, str], wanted: Callable[[int, dict[str, Any]], bool], timeout: float
) -> Readiness:
    """Poll every /readyz until each answer is ``wanted``; fail with the last answers."""
    deadline = time.monotonic() + timeout
    while True:
        answers = await readiness(urls)
        if all(wanted(code, body) for code, body in answers.values()):
            return answers
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz not as wanted within {timeout}s: {answers}")
        await asyncio.sleep(0.5)


def ready(code: int, body: dict[str, Any]) -> bool:
    checks = body.get("checks", {})
    return code == 200 and checks.get("broker") == "ok" and checks.get("consumers") == "ok"


def broker_named_unready(code: int, body: dict[str, Any]) -> bool:
    return code == 503 and "broker" in body.get("failing", [])


async def group_lag(kafka: str, group: str, topic: str) -> dict[int, int]:
    """Per partition of ``topic``: records on the log past ``group``'s committed offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        committed = {tp: await consumer.committed(tp) or 0 for tp in partitions}
    finally:
        await consumer.stop()
    return await _records_from(kafka, committed)


async def _records_from(kafka: str, offsets: dict[TopicPartition, int]) -> dict[int, int]:
    """How many records each partition holds at or after ``offsets``, read from the log.

    Counted, not computed from end offsets: the embedded broker reports a partition's end as
    its last record batch's base offset + 1, short of the end by that batch's other records."""
    reader = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(list(offsets))
        for tp, offset in offsets.items():
            reader.seek(tp, offset)
        found = {tp.partition: 0 for tp in offsets}
        quiet = 0
        while quiet < 2:  # two empty fetches in a row: nothing more on the log
            batches = await reader.getmany(timeout_ms=300)
            quiet = 0 if batches else quiet + 1
            for tp, records in batches.items():
                found[tp.partition] += sum(r.offset >= offsets[tp] for r in records)
        return found
    finally:
        await reader.stop()


async def caught_up(kafka: str, topic: str, timeout: float = 60) -> dict[str, dict[int, int]]:
    """Wait until no consumer group has a record of ``topic`` left to commit (no partition
    stalled behind a message it cannot get past); fail with the lags."""
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.gather(*(group_lag(kafka, g, topic) for g in CONSUMER_GROUPS))
        lags = dict(zip(CONSUMER_GROUPS, found, strict=True))
        if all(not any(lag.values()) for lag in lags.values()):
            return lags
        if time.monotonic() > deadline:
            raise AssertionError(f"partitions stalled (group -> partition -> lag): {lags}")
        await asyncio.sleep(1)


async def dead_letters(
    kafka: str, topic: str, group: str, key: str, timeout: float = 60
) -> list[ConsumerRecord[bytes, bytes]]:
    """``group``'s dead letters of ``topic`` keyed ``key``, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        records = await read_topic(kafka, dead_letter_topic(topic, group))
        letters = [r for r in records if r.key == key.encode()]
        if letters:
            return letters
        if time.monotonic() > deadline:
            raise AssertionError(f"no dead letter {key} from {group} within {timeout}s")
        await asyncio.sleep(1)


async def dead_lettered_by_every_group(
    kafka: str, topic: str, key: str
) -> dict[str, ConsumerRecord[bytes, bytes]]:
    """Each consumer group's first dead letter of ``topic`` keyed ``key``."""
    return {g: (await dead_letters(kafka, topic, g, key))[0] for g in CONSUMER_GROUPS}
