"""An e-mail is written for its recipient as the contact replica knows them when it is sent:
their language too, not only their address and name. A party's MoUSigned is often decided
before its PartnerRegistered (other topic, unordered): the e-mail waited for the address, then
went out in Indonesian to a partner that reads English, greeting it by its current name."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import MoUParty, MoUSigned, PartnerRegistered
from services.notify import handlers
from services.notify.bootstrap import Notify, bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.units import memory_units

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
async def deps() -> AsyncIterator[Notify]:
    async with memory_units(NotifyUnit, COLLECTIONS) as units:
        yield bootstrap(units.store, units.outbox, NotifySettings(), clock=Clock(), email=Mail())


def meta_of(event: Event) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry", time=T0,
        subject=event.aggregate_id(), region=event.region(), sequence=1, hash="h",
    )  # fmt: skip


async def decide(deps: Notify, event: Event) -> str:
    meta = meta_of(event)
    async with deps.units.open() as uow:
        await handlers.notify_about(uow, [(event, meta)], {}, deps.subscriptions)
    return meta.id


async def test_an_email_decided_before_its_partner_is_known_is_in_the_partners_language(
    deps: Notify,
) -> None:
    signed = MoUSigned(
        mou_id="mou-ksst-2018", title="Capacity Building Program", scope="training",
        parties=[MoUParty(partner_id="ministry"), MoUParty(partner_id="colombo-plan")],
        valid_from=date(2018, 7, 18), valid_until=date(2018, 7, 30), signed_on=date(2018, 7, 1),
        document_ref="ref", signed_at=T0,
    )  # fmt: skip
    mou_event = await decide(deps, signed)
    partner = PartnerRegistered(
        partner_id="colombo-plan", name="Colombo Plan Secretariat",
        partner_type="international_body", country="LK", contact_email="desk@colombo-plan.example",
        preferred_language="en", registered_at=T0,
    )  # fmt: skip
    await decide(deps, partner)
    assert isinstance(deps.clock, Clock)
    deps.clock.now = T0 + timedelta(seconds=1)  # both e-mails due
    await deps.dispatcher.dispatch_due()
    assert isinstance(deps.email, Mail)
    to, subject, body = deps.email.sent[f"{mou_event}|partner:colombo-plan|email"]
    assert to == "desk@colombo-plan.example"
    assert subject == "MoU signed: Capacity Building Program"
    assert body.startswith("Dear Colombo Plan Secretariat,")
