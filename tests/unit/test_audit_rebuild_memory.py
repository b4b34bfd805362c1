"""``ikm audit rebuild`` compares the live and rebuilt collections a page at a time: its
memory does not grow with the number of documents (issue #14, Scale: 193 -> 586 MB from
20,000 to 100,000 enterprises while it held both whole collections)."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import pytest

from ikm_cli.audit_rebuild import RebuildReport, _diff_collections, load_definition
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore

SMALL, LARGE = 1_000, 4_000


@pytest.fixture
async def stores() -> AsyncIterator[tuple[Store, Store]]:
    definition = load_definition("subsidy")
    live, scratch = SqliteStore(":memory:"), SqliteStore(":memory:")
    for store in (live, scratch):
        await store.open(definition.store_collections())
    yield live, scratch
    for store in (live, scratch):
        await store.close()


async def fill(store: Store, start: int, stop: int, *, name: str = "IKM") -> None:
    docs = [
        {"id": f"{i:013d}", "name": f"{name} {i}", "notes": "x" * 300, "sequence": 1}
        for i in range(start, stop)
    ]
    async with store.transaction() as tx:
        await tx.insert_many("enterprises", docs)


async def peak_of_diff(live: Store, scratch: Store) -> tuple[int, RebuildReport]:
    report = RebuildReport(service="subsidy")
    tracemalloc.start()
    try:
        await _diff_collections(load_definition("subsidy"), live, scratch, report)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, report


async def test_the_diff_holds_pages_not_collections(stores: tuple[Store, Store]) -> None:
    live, scratch = stores
    await fill(live, 0, SMALL)
    await fill(scratch, 0, SMALL)
    small, _ = await peak_of_diff(live, scratch)
    await fill(live, SMALL, LARGE)
    await fill(scratch, SMALL, LARGE)
    large, report = await peak_of_diff(live, scratch)
    assert report.compared["enterprises"] == (LARGE, LARGE)
    assert report.differences == []
    # four times the documents: the same pages (old code: 3.7x, both collections held whole)
    assert large < small * 1.5, f"peak {small:,} B ({SMALL:,} documents), {large:,} B ({LARGE:,})"


async def test_the_merge_finds_what_the_whole_collections_showed(
    stores: tuple[Store, Store],
) -> None:
    live, scratch = stores
    await fill(live, 0, 1_200)  # 0 .. 1199
    await fill(scratch, 3, 1_205, name="IKM")  # 3 .. 1204: 0..2 missing, 1200..1204 extra
    async with scratch.transaction() as tx:
        doc = await tx.get("enterprises", f"{700:013d}")
        assert doc is not None
        await tx.replace("enterprises", {**doc, "name": "changed", "version": doc["version"]})
    _, report = await peak_of_diff(live, scratch)
    assert report.compared["enterprises"] == (1_200, 1_202)
    kinds = [(d.kind, d.doc_id, d.fields) for d in report.differences]
    assert kinds == [
        *(("missing", f"{i:013d}", ()) for i in range(3)),
        *(("extra", f"{i:013d}", ()) for i in range(1_200, 1_205)),
        ("changed", f"{700:013d}", ("name",)),
    ]
