"""Notify's consumer batch decision straight on each store: a batch of events decided in order
and its notifications written in bulk.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from contracts.base import Event
from contracts.registry import (
    EnterpriseUpdated,
    EnterpriseVerified,
    OwnerContact,
)
from ikmkit.auth import Caller
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import Store
from services.notify import handlers, queries
from services.notify.bootstrap import bootstrap
from services.notify.commands import Subscribe
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS
from tests.support.notify_service import (
    attrs_of,
    registered,
)
from tests.support.values import random_nib


async def test_a_batch_is_decided_in_order_and_written_in_bulk(fresh_store: Store) -> None:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    deps = bootstrap(fresh_store, Outbox("urn:ikm:test"), NotifySettings())
    ministry = Caller(subject="officer", role="ministry")
    await deps.units.run(
        handlers.subscribe,
        Subscribe(
            url="http://127.0.0.1:9/hook",
            event_types=["EnterpriseRegistered"],
            secret="s" * 16,
        ),
        ministry,
    )
    number = random_nib()
    first, second = f"first-{number}@example.id", f"second-{number}@example.id"
    verified = EnterpriseVerified(
        nib=number, province="34", verified_by="officer-34", verified_at=datetime.now(UTC)
    )
    update = EnterpriseUpdated(
        nib=number,
        province="34",
        name="CV Maju Jaya",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        workforce=5,
        investment_rupiah=10_000_000,
        changed_fields=["owner"],
        owner=OwnerContact(name="Budi Santoso", email=second, phone="081234567890"),
        updated_at=datetime.now(UTC),
    )
    events: list[Event] = [registered(number, email=first), verified, update, verified]
    batch = [(event, attrs_of(event, i)) for i, event in enumerate(events, start=1)]
    async with deps.units.open() as uow:
        written = await handlers.notify_about(
            uow, batch, deps.configured_contacts, deps.subscriptions
        )

    # Each event sees the contacts learned before it: the update changes the address midway.
    emails = [n.target for n in written if n.channel == "email"]
    assert emails == [first, first, second]
    async with deps.units.open() as uow:
        contact = (await uow.contacts.get_many([f"enterprise:{number}"])).popitem()[1]
        stored = await uow.tx.count("notifications", {"event_id": batch[0][1].id})
    assert contact.email == second
    assert stored == 4  # owner e-mail + owner inbox + regional inbox + webhook

    hook = next(n for n in written if n.channel == "webhook")
    assert json.loads(hook.body)["data"]["owner"]["email"] == "f***@example.id"
    assert "Budi Santoso" not in hook.body and first not in hook.body
    # Inbox text is rendered when read, from the stored event data; masked for the officers.
    messages = await deps.units.read(
        queries.messages_of, "regional:34", ministry, deps.renderer, cursor=None, limit=10
    )
    texts = [m for m in messages.items if m.event_id == batch[0][1].id]
    assert texts[0].title == "IKM baru menunggu verifikasi: CV Maju Jaya"
    assert "0812****7890" in texts[0].body and "081234567890" not in texts[0].body
