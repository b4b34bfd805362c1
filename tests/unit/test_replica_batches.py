"""Subsidy's and training's replica consumers on the batch path (one unit of work per batch,
the batch's replicas read once): the same effects as one by one, and an event with a sequence
gap still goes alone to the dead-letter topic while the rest of its batch applies."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bench._insights_alone import Record
from bench._replicas_alone import _records, _subsidy, _training
from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.store.sqlite import SqliteStore
from services.subsidy.store import COLLECTIONS as SUBSIDY_COLLECTIONS
from services.training.store import COLLECTIONS as TRAINING_COLLECTIONS

SERVICES = {
    "subsidy": (SUBSIDY_COLLECTIONS, _subsidy),
    "training": (TRAINING_COLLECTIONS, _training),
}
REPLICA = {"subsidy": "enterprises", "training": "enterprise_replica"}


@cache
def enterprise_records() -> list[Record]:
    return _records()[:600]


class Letters:
    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, message: Any) -> None:
        self.published.append(message)


async def _consume(service: str, path: Path, records: list[Record], batch: int) -> tuple[Any, ...]:
    collections, build = SERVICES[service]
    store = SqliteStore(path)
    await store.open([*collections, *INBOX_COLLECTIONS])
    consumer = build(store)
    letters = Letters()
    consumer._dead_letters.sink = letters  # the bench builds it with a sink that refuses
    for start in range(0, len(records), batch):
        await consumer.process(records[start : start + batch])
    async with store.transaction() as tx:
        inbox = await tx.count(INBOX)
        page = await tx.find(REPLICA[service], limit=100_000)
    await store.close()
    replicas = {d["id"]: {k: v for k, v in d.items() if k != "version"} for d in page.items}
    return inbox, replicas, letters.published


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_batches_have_the_effects_of_one_by_one(service: str, tmp_path: Path) -> None:
    records = enterprise_records()
    alone = await _consume(service, tmp_path / "one.db", records, 1)
    batched = await _consume(service, tmp_path / "batch.db", records, 250)
    again = await _consume(service, tmp_path / "batch.db", records, 250)  # redelivered
    assert alone[0] == batched[0] == len(records) and not alone[2] and not batched[2]
    assert batched[1] == alone[1] and again[1] == alone[1] and again[0] == len(records)


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_a_gap_in_a_batch_dead_letters_only_its_event(service: str, tmp_path: Path) -> None:
    records = [r for r in enterprise_records()[:300] if r.topic == ENTERPRISE_TOPIC]
    second = next(i for i, r in enumerate(records) if int(dict(r.headers)["ce_sequence"]) == 2)
    missing = records[second - 1]  # the registration the next event follows
    gapped = [r for r in records if r is not missing]
    inbox, replicas, letters = await _consume(service, tmp_path / "gap.db", gapped, 100)
    # the events after the missing registration (verified, maybe onboarded), nothing else
    assert letters and {dict(m.headers)["dlq_reason"] for m in letters} == {b"sequence_gap"}
    assert {m.key for m in letters} == {missing.key}
    assert inbox == len(gapped) - len(letters)
    assert missing.key is not None and missing.key.decode() not in replicas
    others = [r for r in gapped if r.key != missing.key]
    _, alone, _ = await _consume(service, tmp_path / "alone.db", others, 1)
    assert replicas == alone
