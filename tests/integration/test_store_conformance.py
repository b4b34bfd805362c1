"""One conformance suite for every store adapter.

Runs against SQLite always and against MongoDB over the wire: a real MongoDB when
MONGODB_URL is set or Docker answers, else the mongoeco wire server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from ikmkit.store import (
    CollectionSpec,
    DuplicateKey,
    In,
    Range,
    Store,
    VersionConflict,
)
from ikmkit.store.keyset import InvalidCursor
from ikmkit.store.mongo import MongoStore
from ikmkit.unit_of_work import ConflictRetry

PEOPLE = "people"
TALLIES = "tallies"
SPECS = [
    CollectionSpec(PEOPLE, unique=[("email",)], indexes=[("province", "age")]),
    CollectionSpec(TALLIES, indexes=[("kind", "value")]),
]


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(SPECS)
    yield fresh_store


@pytest.fixture
def mongo_url_if_needed(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("mongo_url")) if store_kind == "mongodb" else None


def person(i: int, province: str = "34", **extra: object) -> dict[str, object]:
    return {
        "id": f"p{i:03d}",
        "email": f"p{i}@example.id",
        "province": province,
        "age": 20 + i % 7,
        "address": {"city": f"c{i % 3}"},
        **extra,
    }


async def seed(store: Store, count: int) -> None:
    async with store.transaction() as uow:
        await uow.insert_many(PEOPLE, [person(i, "34" if i % 2 else "11") for i in range(count)])


async def test_insert_then_get_returns_the_document_at_version_1(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.insert(PEOPLE, person(1))
    async with store.transaction() as uow:
        got = await uow.get(PEOPLE, "p001")
        missing = await uow.get(PEOPLE, "nope")
    assert got is not None
    assert got["email"] == "p1@example.id"
    assert got["address"] == {"city": "c1"}
    assert got["version"] == 1
    assert missing is None


async def test_duplicate_id_and_unique_key_are_refused_naming_the_existing_document(
    store: Store,
) -> None:
    async with store.transaction() as uow:
        await uow.insert(PEOPLE, person(1))
    with pytest.raises(DuplicateKey) as same_id:
        async with store.transaction() as uow:
            await uow.insert(PEOPLE, person(1, email="other@example.id"))
    assert same_id.value.existing_id == "p001"
    with pytest.raises(DuplicateKey) as same_email:
        async with store.transaction() as uow:
            await uow.insert(PEOPLE, {**person(2), "email": "p1@example.id"})
    assert same_email.value.fields == ("email",)
    assert same_email.value.existing_id == "p001"


async def test_replace_uses_optimistic_concurrency(store: Store) -> None:
    async with store.transaction() as uow:
        stored = await uow.insert(PEOPLE, person(1))
    async with store.transaction() as uow:
        updated = await uow.replace(PEOPLE, {**stored, "age": 40})
    assert updated["version"] == 2
    with pytest.raises(VersionConflict):
        async with store.transaction() as uow:
            await uow.replace(PEOPLE, {**stored, "age": 41})  # stale version 1
    async with store.transaction() as uow:
        current = await uow.get(PEOPLE, "p001")
    assert current is not None
    assert (current["age"], current["version"]) == (40, 2)


async def test_replace_many_writes_each_document_or_none_on_a_stale_version(
    store: Store,
) -> None:
    await seed(store, 4)
    async with store.transaction() as uow:
        docs = await uow.get_many(PEOPLE, ["p000", "p001", "p002"])
        await uow.replace_many(PEOPLE, [{**d, "age": 99} for d in docs.values()])
    async with store.transaction() as uow:
        after = await uow.get_many(PEOPLE, ["p000", "p001", "p002", "p003"])
    assert {k: (d["age"], d["version"]) for k, d in after.items() if k != "p003"} == {
        k: (99, 2) for k in ("p000", "p001", "p002")
    }
    stale = [{**after["p000"], "age": 1}, {**docs["p001"], "age": 1}]  # p001: version 1
    with pytest.raises(VersionConflict) as caught:
        async with store.transaction() as uow:
            await uow.replace_many(PEOPLE, stale)
    assert caught.value.doc_id == "p001"
    async with store.transaction() as uow:
        kept = await uow.get_many(PEOPLE, ["p000", "p001"])
    assert {k: (d["age"], d["version"]) for k, d in kept.items()} == {
        "p000": (99, 2),
        "p001": (99, 2),
    }


async def test_a_failed_unit_of_work_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.insert(PEOPLE, person(1))
            await uow.insert(PEOPLE, person(2))
            raise RuntimeError("boom")
    async with store.transaction() as uow:
        assert await uow.count(PEOPLE) == 0


async def test_find_filters_orders_and_pages_with_a_cursor(store: Store) -> None:
    await seed(store, 25)
    seen: list[str] = []
    cursor = None
    while True:
        async with store.transaction() as uow:
            page = await uow.find(
                PEOPLE, {"province": "34"}, order_by=[("age", -1)], limit=4, cursor=cursor
            )
        seen += [d["id"] for d in page.items]
        ages = [d["age"] for d in page.items]
        assert ages == sorted(ages, reverse=True)
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted(
        (person(i) for i in range(25) if i % 2), key=lambda d: (-int(d["age"]), d["id"])
    )
    assert seen == [d["id"] for d in expected]


async def test_find_supports_in_range_nested_fields_and_null(store: Store) -> None:
    await seed(store, 14)
    async with store.transaction() as uow:
        await uow.insert(PEOPLE, {**person(99), "nickname": "x"})
        by_in = await uow.find(PEOPLE, {"id": In(["p001", "p002", "zz"])})
        by_range = await uow.find(PEOPLE, {"age": Range(gte=22, lt=24)}, limit=100)
        by_nested = await uow.count(PEOPLE, {"address.city": "c1"})
        without_nickname = await uow.count(PEOPLE, {"nickname": None})
    assert sorted(d["id"] for d in by_in.items) == ["p001", "p002"]
    assert {d["age"] for d in by_range.items} == {22, 23}
    assert by_nested == len([i for i in range(14) if i % 3 == 1])
    assert without_nickname == 14


async def test_counts_and_groups(store: Store) -> None:
    await seed(store, 10)
    async with store.transaction() as uow:
        total = await uow.count(PEOPLE)
        in_aceh = await uow.count(PEOPLE, {"province": "11"})
        groups = await uow.group(PEOPLE, ["province"], sums=["age"])
    assert (total, in_aceh) == (10, 5)
    by_province = {g.key["province"]: g for g in groups}
    assert by_province["11"].count == 5
    assert by_province["11"].sums["age"] == sum(20 + i % 7 for i in range(0, 10, 2))


async def test_get_many_patch_many_and_delete(store: Store) -> None:
    await seed(store, 5)
    async with store.transaction() as uow:
        found = await uow.get_many(PEOPLE, ["p000", "p004", "nope"])
        patched = await uow.patch_many(PEOPLE, ["p000", "p004"], {"flag": True})
        deleted = await uow.delete(PEOPLE, "p001")
    assert sorted(found) == ["p000", "p004"]
    assert patched == 2
    assert deleted is True
    async with store.transaction() as uow:
        flagged = await uow.count(PEOPLE, {"flag": True})
        p0 = await uow.get(PEOPLE, "p000")
        assert await uow.get(PEOPLE, "p001") is None
    assert flagged == 2
    assert p0 is not None
    assert p0["version"] == 2


async def test_patch_each_sets_every_document_its_own_fields(store: Store) -> None:
    await seed(store, 4)
    async with store.transaction() as uow:
        patched = await uow.patch_each(
            PEOPLE, {"p000": {"slot": 7, "flag": True}, "p002": {"slot": 9}, "nope": {"slot": 1}}
        )
    assert patched == 2
    async with store.transaction() as uow:
        found = await uow.get_many(PEOPLE, ["p000", "p001", "p002"])
    assert (found["p000"]["slot"], found["p000"]["flag"], found["p000"]["version"]) == (7, True, 2)
    assert (found["p002"]["slot"], found["p002"].get("flag")) == (9, None)
    assert "slot" not in found["p001"]


async def test_concurrent_read_modify_write_never_loses_an_update(
    store: Store, store_kind: str, mongo_url_if_needed: str | None
) -> None:
    if store_kind == "mongodb":  # really concurrent, even on mongoeco: conflicts get retried
        assert mongo_url_if_needed is not None
        store = MongoStore(mongo_url_if_needed, f"test_{uuid.uuid4().hex[:12]}")
        await store.open(SPECS)
    async with store.transaction() as uow:
        await uow.insert(PEOPLE, {**person(1), "counter": 0})

    async def increment() -> None:
        async with store.transaction() as uow:
            doc = await uow.get(PEOPLE, "p001")
            assert doc is not None
            await asyncio.sleep(0)  # let the others read the same version
            await uow.replace(PEOPLE, {**doc, "counter": doc["counter"] + 1})

    retry = ConflictRetry(max_attempts=50)
    await asyncio.gather(*(retry.run(increment) for _ in range(10)))
    async with store.transaction() as uow:
        doc = await uow.get(PEOPLE, "p001")
    assert doc is not None
    assert doc["counter"] == 10
    if isinstance(store, MongoStore):
        await store.drop()
        await store.close()


async def test_a_tampered_cursor_is_refused(store: Store) -> None:
    await seed(store, 3)
    with pytest.raises(InvalidCursor):
        async with store.transaction() as uow:
            await uow.find(PEOPLE, {}, order_by=[("age", 1)], cursor="not-a-cursor")


def tally(doc_id: str, kind: str) -> dict[str, object]:
    return {"id": doc_id, "kind": kind, "value": 0}


async def test_add_counts_inserts_adds_and_drops_counters_back_at_zero(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.add_counts(TALLIES, "value", [(tally("a", "x"), 2), (tally("b", "y"), -1)])
    async with store.transaction() as uow:
        first = await uow.get_many(TALLIES, ["a", "b"])
        await uow.add_counts(
            TALLIES, "value", [(tally("a", "x"), 3), (tally("b", "y"), 1), (tally("c", "x"), 1)]
        )
    assert first == {
        "a": {"id": "a", "kind": "x", "value": 2, "version": 1},
        "b": {"id": "b", "kind": "y", "value": -1, "version": 1},
    }
    async with store.transaction() as uow:
        now = await uow.get_many(TALLIES, ["a", "b", "c"])
        by_index = await uow.find(TALLIES, {"kind": "x", "value": 5})
        groups = await uow.group(TALLIES, ["kind"], sums=["value"])
    assert now == {
        "a": {"id": "a", "kind": "x", "value": 5, "version": 2},
        "c": {"id": "c", "kind": "x", "value": 1, "version": 1},
    }
    assert [doc["id"] for doc in by_index.items] == ["a"]
    assert [(g.key, g.count, g.sums) for g in groups] == [({"kind": "x"}, 2, {"value": 6})]


async def test_add_counts_of_a_bare_counter(store: Store) -> None:
    for _ in range(2):
        async with store.transaction() as uow:
            await uow.add_counts(TALLIES, "value", [({"id": "solo"}, 3), ({"id": "nil"}, 0)])
    async with store.transaction() as uow:
        found = await uow.get_many(TALLIES, ["solo", "nil"])
    assert found == {"solo": {"id": "solo", "value": 6, "version": 2}}


async def test_add_counts_commits_with_its_unit_of_work_or_not_at_all(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.add_counts(TALLIES, "value", [(tally("a", "x"), 1)])
    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.add_counts(TALLIES, "value", [(tally("a", "x"), 4), (tally("b", "x"), 1)])
            raise RuntimeError("the unit of work fails")
    async with store.transaction() as uow:
        found = await uow.get_many(TALLIES, ["a", "b"])
    assert found == {"a": {"id": "a", "kind": "x", "value": 1, "version": 1}}


async def test_concurrent_add_counts_never_lose_an_addition(
    store: Store, store_kind: str, mongo_url_if_needed: str | None
) -> None:
    if store_kind == "mongodb":  # really concurrent, even on mongoeco: conflicts get retried
        assert mongo_url_if_needed is not None
        store = MongoStore(mongo_url_if_needed, f"test_{uuid.uuid4().hex[:12]}")
        await store.open(SPECS)

    async def add() -> None:
        async with store.transaction() as uow:
            await asyncio.sleep(0)
            await uow.add_counts(TALLIES, "value", [(tally("a", "x"), 1)])

    retry = ConflictRetry(max_attempts=50)
    await asyncio.gather(*(retry.run(add) for _ in range(10)))
    async with store.transaction() as uow:
        doc = await uow.get(TALLIES, "a")
    assert doc is not None
    assert (doc["value"], doc["version"]) == (10, 10)
    if isinstance(store, MongoStore):
        await store.drop()
        await store.close()
