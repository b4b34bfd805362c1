"""Outbox.add_many stamps exactly what one-by-one Outbox.add would: sequences and hash chains."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import pytest

from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from ikmkit.messaging.cloudevents import chain_hash
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox, stream_id
from ikmkit.store import DuplicateKey, Store
from ikmkit.store.port import Document
from tests.support.enterprises import registration


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(OUTBOX_COLLECTIONS)
    yield fresh_store


def assert_chained(rows: Sequence[Document]) -> None:
    """One stream's outbox rows, in order: each ``ce_hash`` is the hash of its row after the
    previous row's (the first's after genesis), recomputed here from the headers written."""
    previous = GENESIS_HASH
    for row in rows:
        headers = row["headers"]
        attrs = EnvelopeAttributes(
            id=headers["ce_id"], type=headers["ce_type"], source=headers["ce_source"],
            time=datetime.fromisoformat(headers["ce_time"]), subject=headers["ce_subject"],
            region=headers.get("ce_region"), sequence=int(headers["ce_sequence"]), hash="",
        )  # fmt: skip
        assert headers["ce_hash"] == chain_hash(previous, attrs, row["payload"])
        previous = headers["ce_hash"]


async def test_add_many_continues_each_stream_chain_like_add(store: Store) -> None:
    outbox = Outbox("/tests")
    a, b = str(uuid.uuid4().int)[:13], str(uuid.uuid4().int)[:13]
    async with store.transaction() as uow:
        await outbox.add(uow, registration(a, "a0"))
    async with store.transaction() as uow:
        stamped = await outbox.add_many(
            uow, [registration(a, "a1"), registration(b, "b0"), registration(a, "a2")]
        )
    assert [(s.subject, s.sequence) for s in stamped] == [(a, 2), (b, 1), (a, 3)]

    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {}, order_by=[("created_ns", 1)], limit=10)).items
    for key in (a, b):
        mine = [r for r in rows if r["key"] == key]
        assert [r["sequence"] for r in mine] == list(range(1, len(mine) + 1))
        assert_chained(mine)
    assert [json.loads(r["payload"])["name"] for r in rows if r["key"] == a] == ["a0", "a1", "a2"]


async def test_new_streams_are_not_read_and_start_their_chains(store: Store) -> None:
    """A registration tells the outbox its aggregate's stream is new: that stream's head is
    not read (the others' are), and its chain starts as a read that found nothing starts it."""
    outbox = Outbox("/tests")
    a, b = str(uuid.uuid4().int)[:13], str(uuid.uuid4().int)[:13]
    async with store.transaction() as uow:
        await outbox.add(uow, registration(a, "a0"))
    read: list[list[str]] = []
    async with store.transaction() as uow:
        get_many = uow.get_many

        async def spy(collection: str, ids: Sequence[str]) -> dict[str, Document]:
            read.append(list(ids))
            return await get_many(collection, ids)

        uow.get_many = spy  # type: ignore[method-assign]
        fresh = stream_id(registration(b, "b0"))
        stamped = await outbox.add_many(
            uow,
            [registration(a, "a1"), registration(b, "b0"), registration(b, "b1")],
            new_streams={fresh},
        )
    assert read == [[stream_id(registration(a, "a1"))]]
    assert [(s.subject, s.sequence) for s in stamped] == [(a, 2), (b, 1), (b, 2)]
    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {"key": b}, order_by=[("created_ns", 1)], limit=10)).items
    assert_chained(rows)
    assert len(rows) == 2


async def test_a_stream_said_new_that_exists_is_refused_not_restarted(store: Store) -> None:
    """Told wrongly that a stream is new, the outbox writes no second genesis: the head's
    insert is refused (``DuplicateKey``, which the unit of work retries) and the stream is
    left as it was."""
    outbox = Outbox("/tests")
    a = str(uuid.uuid4().int)[:13]
    async with store.transaction() as uow:
        await outbox.add(uow, registration(a, "a0"))
    with pytest.raises(DuplicateKey):
        async with store.transaction() as uow:
            await outbox.add_many(
                uow, [registration(a, "again")], new_streams={stream_id(registration(a, "x"))}
            )
    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {"key": a}, limit=10)).items
    assert [(r["sequence"], json.loads(r["payload"])["name"]) for r in rows] == [(1, "a0")]
