"""A registration's unit of work does not read its event stream's head: it has just found the
NIB absent, so the stream is new (docs/performance.md, Registry, session 23). What it stores,
the chain it starts and the refusal of a NIB taken are as before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contracts.envelope import GENESIS_HASH
from ikmkit.auth import Caller
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_STREAMS
from ikmkit.service.errors import Conflict
from ikmkit.store.sqlite import SqliteStore
from ikmkit.store.sqlite_sql import table_name
from ikmkit.unit_of_work import Units
from services.registry.commands import RegisterEnterprise
from services.registry.handlers import enterprises
from services.registry.store import COLLECTIONS, RegistryUnit
from tests.support.units import memory_units

MINISTRY = Caller("officer-pusat", "ministry")
BODY = {
    "nib": "1234567890123", "name": "CV Maju Logam", "legal_form": "CV",
    "owner_name": "Budi Santoso", "province": "34", "regency": "3471", "kbli": "29300",
    "workforce": 10, "investment_rupiah": 500_000_000,
    "marketplace_stores": [{"platform": "Shopee", "shop_url": "https://shopee.co.id/maju"}],
}  # fmt: skip


@pytest.fixture
async def units() -> AsyncIterator[Units[RegistryUnit]]:
    async with memory_units(RegistryUnit, COLLECTIONS) as found:
        yield found


async def test_registration_reads_no_stream_head_and_starts_the_chain(
    units: Units[RegistryUnit],
) -> None:
    store = units.store
    assert isinstance(store, SqliteStore)
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    cmd = RegisterEnterprise.model_validate(BODY)
    await units.run(enterprises.register_enterprise, cmd, MINISTRY)
    store._connection().set_trace_callback(None)
    heads = table_name(OUTBOX_STREAMS)
    on_heads = [s.split()[0].upper() for s in statements if heads in s]
    assert on_heads == ["INSERT"]  # one head written (two events, one stream), none read
    async with store.transaction() as tx:
        rows = (await tx.find(OUTBOX, order_by=[("created_ns", 1)], limit=10)).items
        head = await tx.get(OUTBOX_STREAMS, f"{rows[0]['topic']}|{cmd.nib}")
    assert [r["sequence"] for r in rows] == [1, 2]
    assert head is not None and (head["sequence"], head["hash"]) == (
        2,
        rows[1]["headers"]["ce_hash"],
    )
    assert rows[0]["headers"]["ce_hash"] != GENESIS_HASH


async def test_a_nib_taken_is_refused_as_before(units: Units[RegistryUnit]) -> None:
    cmd = RegisterEnterprise.model_validate(BODY)
    await units.run(enterprises.register_enterprise, cmd, MINISTRY)
    with pytest.raises(Conflict, match="already registered"):
        await units.run(enterprises.register_enterprise, cmd, MINISTRY)
