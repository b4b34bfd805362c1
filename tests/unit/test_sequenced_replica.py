"""The one rule for state learned from other services' events (``ikmkit.messaging.replica``):
a replay changes nothing, the next event applies, a gap is refused with the gap named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.envelope import EnvelopeAttributes
from ikmkit.messaging.consumer import PermanentError
from ikmkit.messaging.inbox import deduplicated
from ikmkit.messaging.replica import Replicated, SequencedReplica, SequenceGap
from ikmkit.store import CollectionSpec
from ikmkit.unit_of_work import UnitOfWork
from tests.support.units import memory_units


class Shop(Replicated):
    name: str


SHOPS = SequencedReplica("shop_replica", Shop)


def meta(sequence: int, subject: str = "1234567890123") -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type="id.go.kemenperin.ikm.registry.EnterpriseUpdated",
        source="urn:ikm:registry",
        time=datetime(2026, 12, 1, tzinfo=UTC),
        subject=subject,
        region="33",
        sequence=sequence,
        hash="",
    )


def renamed(name: str):  # type: ignore[no-untyped-def]
    return lambda current: (
        Shop(name=name) if current is None else current.model_copy(update={"name": name})
    )


async def test_next_events_apply_and_replays_change_nothing() -> None:
    async with memory_units(UnitOfWork, [CollectionSpec(SHOPS.collection)]) as units:
        async with units.open() as uow:
            assert (await SHOPS.apply(uow.tx, meta(1), renamed("a"))).name == "a"  # type: ignore[union-attr]
            assert (await SHOPS.apply(uow.tx, meta(2), renamed("b"))).name == "b"  # type: ignore[union-attr]
            assert await SHOPS.apply(uow.tx, meta(1), renamed("stale")) is None
            await SHOPS.advance(uow.tx, meta(3))
            shop = await SHOPS.get(uow.tx, "1234567890123")
        assert shop is not None
        assert (shop.name, shop.sequence) == ("b", 3)


async def test_a_gap_is_refused_naming_the_missing_events() -> None:
    async with memory_units(UnitOfWork, [CollectionSpec(SHOPS.collection)]) as units:
        async with units.open() as uow:
            await SHOPS.apply(uow.tx, meta(1), renamed("a"))
        with pytest.raises(SequenceGap, match=r"events 2\.\.3 are missing") as gap:
            async with units.open() as uow:
                await SHOPS.apply(uow.tx, meta(4), renamed("d"))
        assert isinstance(gap.value, PermanentError)  # to the dead-letter topic, not retried
        assert gap.value.reason == "sequence_gap"
        with pytest.raises(SequenceGap, match="before the aggregate's first event"):
            async with units.open() as uow:
                await SHOPS.advance(uow.tx, meta(1, subject="9999999999999"))


async def test_a_duplicate_event_has_no_second_effect() -> None:
    applied: list[str] = []

    async def handler(event: object, m: EnvelopeAttributes, uow: UnitOfWork) -> None:
        applied.append(m.id)

    once = deduplicated("group-a", handler)
    event_meta = meta(1)
    async with memory_units(UnitOfWork) as units:
        async with units.open() as uow:
            assert await once(None, event_meta, uow) is True
        async with units.open() as uow:
            assert await once(None, event_meta, uow) is False
        async with units.open() as uow:  # another group has its own record of what it did
            assert await deduplicated("group-b", handler)(None, event_meta, uow) is True
    assert applied == [event_meta.id, event_meta.id]


async def test_a_batch_reads_each_copy_once_and_writes_over_the_version_it_wrote() -> None:
    """Prefetched and written copies are reused within the transaction; each write is over
    the version the previous one stored (no VersionConflict), and the store agrees."""
    async with memory_units(UnitOfWork, [CollectionSpec(SHOPS.collection)]) as units:
        async with units.open() as uow:
            await SHOPS.apply(uow.tx, meta(1, "a"), renamed("a1"))
        async with units.open() as uow:
            await SHOPS.prefetch(uow.tx, ["a", "b", "a"])
            await SHOPS.apply(uow.tx, meta(2, "a"), renamed("a2"))
            await SHOPS.apply(uow.tx, meta(3, "a"), renamed("a3"))
            await SHOPS.apply(uow.tx, meta(1, "b"), renamed("b1"))
            await SHOPS.apply(uow.tx, meta(2, "b"), renamed("b2"))
        async with units.open() as uow:
            stored = await uow.tx.get_many(SHOPS.collection, ["a", "b"])
    assert (stored["a"]["name"], stored["a"]["sequence"], stored["a"]["version"]) == ("a3", 3, 3)
    assert (stored["b"]["name"], stored["b"]["sequence"], stored["b"]["version"]) == ("b2", 2, 2)


async def test_a_rolled_back_batch_leaves_no_copy_behind() -> None:
    async with memory_units(UnitOfWork, [CollectionSpec(SHOPS.collection)]) as units:
        with pytest.raises(SequenceGap):
            async with units.open() as uow:
                await SHOPS.apply(uow.tx, meta(1), renamed("a"))
                await SHOPS.apply(uow.tx, meta(3), renamed("gap"))
        async with units.open() as uow:
            assert await SHOPS.get(uow.tx, "1234567890123") is None
            assert (await SHOPS.apply(uow.tx, meta(1), renamed("again"))).name == "again"  # type: ignore[union-attr]
