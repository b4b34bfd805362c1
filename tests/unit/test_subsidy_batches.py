"""Subsidy's consumer as its service wires it takes the registry's events a batch per unit of
work, like training's (issue #14: in the 100,000-enterprise scale run subsidy used four times
training's CPU for the same events while it was subscribed one record at a time, a unit of
work and a commit per event)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bench._replicas_alone import _subsidy, _training
from bench._subsidy_alone import registry_records
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.service.runtime import ServiceDefinition
from ikmkit.store.sqlite import SqliteStore
from ikmkit.store.sqlite_sql import table_name
from services.subsidy import main as subsidy_main
from services.subsidy.replicas import ENTERPRISES
from services.subsidy.store import COLLECTIONS as SUBSIDY_COLLECTIONS
from services.training import main as training_main
from services.training.store import COLLECTIONS as TRAINING_COLLECTIONS
from tests.support.records import Record

SERVICES: dict[str, tuple[Callable[[], ServiceDefinition[Any]], Any, Any, str]] = {
    "subsidy": (subsidy_main.definition, SUBSIDY_COLLECTIONS, _subsidy, "enterprises"),
    "training": (training_main.definition, TRAINING_COLLECTIONS, _training, "enterprise_replica"),
}
ROWS = 120
"""Enterprises imported: every tenth with a marketplace store (a second event), every third
in a campaign, as in the scale run."""


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[Record]:
    """The enterprise topic's records of ``ROWS`` enterprises the registry imported."""
    return asyncio.run(registry_records(ROWS, tmp_path_factory.mktemp("registry")))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_replica_consumer_is_subscribed_in_batches(service: str) -> None:
    (spec,) = SERVICES[service][0]().consumers
    assert spec.batch and spec.max_records >= 100


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_registry_events_take_one_unit_of_work_per_batch(
    service: str, records: list[Record], tmp_path: Path
) -> None:
    _, collections, build, replica = SERVICES[service]
    store = SqliteStore(tmp_path / f"{service}.db")
    await store.open([*collections, *INBOX_COLLECTIONS])
    consumer = build(store)
    units, batches = _counted(consumer)
    for start in range(0, len(records), 50):
        await consumer.process(records[start : start + 50])
    async with store.transaction() as tx:
        inbox, replicas = await tx.count(INBOX), await tx.count(replica)
    await store.close()
    assert len(records) == ROWS + ROWS // 10  # registrations and marketplace onboardings
    assert inbox == len(records) and replicas == ROWS
    # three units of work, one per batch: no batch fell back to a unit of work per event
    assert batches == [50, 50, len(records) - 100] and units == [False] * 3


def _counted(consumer: Any) -> tuple[list[bool], list[int]]:
    """Each unit of work the consumer opens (read-only or not), each batch its handler gets."""
    units: list[bool] = []
    batches: list[int] = []
    handler = consumer._batch_handler
    assert handler is not None, "no batch handler: every event gets a unit of work of its own"

    async def batch_handler(items: list[Any], uow: Any) -> None:
        batches.append(len(items))
        await handler(items, uow)

    opener = consumer._units.open

    @asynccontextmanager
    async def open_unit(*, read_only: bool = False) -> AsyncIterator[Any]:
        units.append(read_only)
        async with opener(read_only=read_only) as uow:
            yield uow

    consumer._batch_handler = batch_handler
    consumer._units.open = open_unit
    return units, batches


async def test_the_enterprise_replica_keeps_no_index_besides_its_key(tmp_path: Path) -> None:
    """Subsidy reads its replica by NIB only (the batch's prefetch, an application's check):
    a secondary index would be one more B-tree written for each of the registry's events."""
    store = SqliteStore(tmp_path / "subsidy.db")
    await store.open([*SUBSIDY_COLLECTIONS, *INBOX_COLLECTIONS])
    conn = sqlite3.connect(tmp_path / "subsidy.db")
    indexes = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
        [table_name(ENTERPRISES.collection).strip('"')],
    ).fetchall()
    conn.close()
    await store.close()
    assert [name for (name,) in indexes if not name.startswith("sqlite_autoindex")] == []
