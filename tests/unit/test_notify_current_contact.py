"""An e-mail is written for its recipient as they are when it is sent: their language too, not
only their address and name. A party's MoUSigned is often decided before its
PartnerRegistered (other topic, unordered): the e-mail waited for the address, then went out
in Indonesian to a partner that reads English, greeting it by its current name. An office's
address is the one configured now: a redrive after an operator corrected
NOTIFY_REGIONAL_EMAILS went to the old address."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseRegistered,
    MoUParty,
    MoUSigned,
    OwnerContact,
    PartnerRegistered,
)
from ikmkit.auth import Caller
from ikmkit.messaging.outbox import Outbox
from ikmkit.store import Store
from services.notify import handlers, queries
from services.notify.bootstrap import Notify, bootstrap
from services.notify.commands import Redrive, SendOutcome
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.units import memory_units

MINISTRY = Caller(subject="operator", role="ministry")

T0 = datetime(2026, 7, 18, 8, 0, tzinfo=UTC)


class Mail:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, str, str]] = {}  # id -> to, subject, body

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        self.sent[message_id] = (to, subject, body)

    async def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    async with memory_units(NotifyUnit, COLLECTIONS) as units:
        yield units.store


def started(store: Store, **settings: object) -> Notify:
    """The service over ``store``, as (re)started with these settings."""
    configured = NotifySettings.model_validate(settings)
    return bootstrap(store, Outbox("/ikm/notify"), configured, clock=Clock(), email=Mail())


@pytest.fixture
def deps(store: Store) -> Notify:
    return started(store)


def meta_of(event: Event) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry", time=T0,
        subject=event.aggregate_id(), region=event.region(), sequence=1, hash="h",
    )  # fmt: skip


async def decide(deps: Notify, event: Event) -> str:
    meta = meta_of(event)
    async with deps.units.open() as uow:
        await handlers.notify_about(
            uow, [(event, meta)], deps.configured_contacts, deps.subscriptions
        )
    return meta.id


def sent(deps: Notify) -> dict[str, tuple[str, str, str]]:
    assert isinstance(deps.email, Mail)
    return deps.email.sent


def later(deps: Notify) -> None:
    assert isinstance(deps.clock, Clock)
    deps.clock.now = T0 + timedelta(seconds=1)  # what was decided at T0 is due


def ksst_mou() -> MoUSigned:
    return MoUSigned(
        mou_id="mou-ksst-2018", title="Capacity Building Program", scope="training",
        parties=[MoUParty(partner_id="ministry"), MoUParty(partner_id="colombo-plan")],
        valid_from=date(2018, 7, 18), valid_until=date(2018, 7, 30), signed_on=date(2018, 7, 1),
        document_ref="ref", signed_at=T0,
    )  # fmt: skip


def colombo_plan() -> PartnerRegistered:
    return PartnerRegistered(
        partner_id="colombo-plan", name="Colombo Plan Secretariat",
        partner_type="international_body", country="LK", contact_email="desk@colombo-plan.example",
        preferred_language="en", registered_at=T0,
    )  # fmt: skip


async def test_an_email_decided_before_its_partner_is_known_is_in_the_partners_language(
    deps: Notify,
) -> None:
    mou_event = await decide(deps, ksst_mou())
    await decide(deps, colombo_plan())
    later(deps)
    await deps.dispatcher.dispatch_due()
    to, subject, body = sent(deps)[f"{mou_event}|partner:colombo-plan|email"]
    assert to == "desk@colombo-plan.example"
    assert subject == "MoU signed: Capacity Building Program"
    assert body.startswith("Dear Colombo Plan Secretariat,")


async def test_its_inbox_message_is_in_the_partners_language_too(deps: Notify) -> None:
    """The inbox is rendered when read, as the e-mail when sent: in the language the partner
    has then (it was the one kept when the MoU's messages were decided, Indonesian, while the
    same MoU's e-mail went out in English)."""
    mou_event = await decide(deps, ksst_mou())
    await decide(deps, colombo_plan())
    page = await deps.units.read(
        queries.messages_of, "partner:colombo-plan", MINISTRY, deps.renderer, cursor=None, limit=50
    )
    [message] = [m for m in page.items if m.event_id == mou_event]
    assert message.title == "MoU signed: Capacity Building Program"


async def test_a_redrive_goes_to_the_office_address_configured_now(store: Store) -> None:
    before = started(store, regional_emails={"32": "ikm-lama@jabarprov.example"})
    registered = EnterpriseRegistered(
        nib="3201234567890", province="32", name="CV Maju Jaya", regency="3273", kbli="29300",
        directorate="metal_machinery_electronics_transport", size_class="small",
        owner=OwnerContact(name="Budi Santoso"), registered_at=T0,
    )  # fmt: skip
    office = f"{await decide(before, registered)}|regional:32|email"
    async with before.units.open() as uow:
        email = await uow.notifications.get(office)
    refused = SendOutcome(email, "550 5.1.1 no such mailbox", permanent=True)
    await before.units.run(handlers.record_outcomes, [refused], before.dispatcher.policy)

    after = started(store, regional_emails={"32": "ikm@jabarprov.example"})  # corrected
    await after.units.run(handlers.redrive, Redrive(ids=[office]), MINISTRY)
    later(after)
    await after.dispatcher.dispatch_due()
    assert sent(after)[office][0] == "ikm@jabarprov.example"
