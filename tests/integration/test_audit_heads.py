"""Reading the outbox's stream heads from each store kind: pages, topic filter, unsent counts."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.registry import ENTERPRISE_TOPIC, PARTNER_TOPIC, EnterpriseVerified
from ikmkit.audit.heads import StreamHead, heads_from_store, read_heads
from ikmkit.messaging.outbox import LEASE_ID, OUTBOX, OUTBOX_COLLECTIONS, OUTBOX_STREAMS, Outbox
from ikmkit.store import Store

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def verified(nib: str) -> EnterpriseVerified:
    return EnterpriseVerified(nib=nib, province="34", verified_by="officer", verified_at=T0)


async def test_heads_are_read_in_keyset_pages_per_topic_with_unsent_events_counted(
    fresh_store: Store,
) -> None:
    store = fresh_store
    await store.open(list(OUTBOX_COLLECTIONS))
    outbox = Outbox("/ikm/registry")
    nibs = [f"{n:013d}" for n in range(1, 6)]
    async with store.transaction() as uow:
        for n, nib in enumerate(nibs, start=1):
            for _ in range(n):
                await outbox.add(uow, verified(nib), at=T0)
        await uow.insert(OUTBOX_STREAMS, {"id": LEASE_ID, "owner": "relay", "expires": 0.0})
    async with store.transaction() as uow:
        rows = await uow.find(OUTBOX, {}, limit=100)
        # everything published but nib 5's last two events (the relay's backlog)
        backlog = sorted(
            (r for r in rows.items if r["key"] == nibs[4]), key=lambda r: r["sequence"]
        )[-2:]
        sent = [r["id"] for r in rows.items if r not in backlog]
        await uow.patch_many(OUTBOX, sent, {"sent": True})

    pages: list[list[StreamHead]] = []
    after = None
    while True:
        page = await read_heads(store, topic=ENTERPRISE_TOPIC, after=after, limit=2)
        pages.append(page.items)
        if page.next is None:
            break
        after = page.next
    heads = [h for items in pages for h in items]
    assert [len(items) for items in pages][:2] == [2, 2]
    assert [(h.aggregate, h.sequence, h.unsent, h.published) for h in heads] == [
        (nib, n, 2 if n == 5 else 0, n - 2 if n == 5 else n) for n, nib in enumerate(nibs, 1)
    ]
    assert all(h.topic == ENTERPRISE_TOPIC and len(h.hash) == 64 for h in heads)
    # every topic, the relay's lease left out; another topic's filter finds none of them
    assert await heads_from_store(store) == heads
    assert (await read_heads(store, topic=PARTNER_TOPIC)).items == []
