"""The registry's enterprises and tag rows keep their indexed fields as columns on SQLite: a
store written with them inside the JSON documents opens with the same documents, and the
listing filters use the column indexes."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

from ikmkit.store import In
from ikmkit.store.sqlite import SqliteStore
from services.registry.store import COLLECTIONS, ENTERPRISE_TAGS, ENTERPRISES

OLD_LAYOUT = [dataclasses.replace(spec, columns=None) for spec in COLLECTIONS]


def enterprise(i: int) -> dict[str, Any]:
    return {
        "id": f"{1234567890000 + i}",
        "nib": f"{1234567890000 + i}",
        "name": f"CV Uji {i}",
        "province": "34" if i % 2 else "11",
        "regency": "3471" if i % 2 else "1101",
        "kbli": "29300",
        "status": "registered" if i % 3 else "verified",
        "size_class": "small",
        "owner": {"name": "Siti", "email": None},
        "campaigns": ["#SemuanyaAdaDisini"] if i % 4 == 0 else [],
    }


def tag(i: int) -> dict[str, Any]:
    e = enterprise(i)
    fields = {k: e[k] for k in ("province", "regency", "kbli", "status", "size_class")}
    return {"id": f"{e['nib']}|campaign:x", "tag": "campaign:x", "nib": e["nib"], **fields,
            "platforms": {"tokopedia": True}}  # fmt: skip


async def read_all(store: SqliteStore) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with store.transaction() as uow:
        enterprises = await uow.find(ENTERPRISES, {}, limit=100)
        tags = await uow.find(ENTERPRISE_TAGS, {}, limit=100)
    return enterprises.items, tags.items


async def test_an_old_registry_store_opens_with_the_same_documents(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    old = SqliteStore(path)
    await old.open(OLD_LAYOUT)
    async with old.transaction() as uow:
        await uow.insert_many(ENTERPRISES, [enterprise(i) for i in range(12)])
        await uow.insert_many(ENTERPRISE_TAGS, [tag(i) for i in range(0, 12, 4)])
        stored = await uow.get(ENTERPRISES, enterprise(5)["id"])
        assert stored is not None
        await uow.replace(ENTERPRISES, {**stored, "status": "verified"})
    before = await read_all(old)
    await old.close()

    store = SqliteStore(path)
    await store.open(list(COLLECTIONS))
    after = await read_all(store)
    async with store.transaction() as uow:
        jogja = await uow.count(ENTERPRISES, {"province": "34", "status": "verified"})
        tagged = await uow.count(ENTERPRISE_TAGS, {"tag": "campaign:x", "regency": In(["1101"])})
    await store.close()
    assert after == before
    assert (jogja, tagged) == (3, 3)
    conn = sqlite3.connect(path)
    plan = " ".join(
        str(r[3])
        for r in conn.execute(
            'EXPLAIN QUERY PLAN SELECT doc FROM "c_enterprises"'
            " WHERE \"province\" = '34' AND \"status\" = 'verified'"
        )
    )
    conn.close()
    assert "ix_enterprises_province_status" in plan
