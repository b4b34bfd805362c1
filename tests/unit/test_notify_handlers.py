"""Notify's use cases on in-memory units of work: no Kafka, no SMTP, no HTTP receiver."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.notify import NotificationDead, NotificationDelivered
from contracts.registry import EnterpriseRegistered, EnterpriseVerified, OwnerContact
from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, InvalidInput, InvalidInputs, NotFound
from ikmkit.unit_of_work import Units
from services.notify import api, handlers, queries
from services.notify.bootstrap import Notify, bootstrap
from services.notify.commands import Redrive, SendOutcome, Subscribe
from services.notify.domain.model import DeliveryRetries, Notification
from services.notify.senders import UndeliverableAddress
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.units import memory_units, recorded_events

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
NIB = "1234567890123"
OWNER = f"enterprise:{NIB}"
MINISTRY = Caller(subject="officer", role="ministry")
POLICY = DeliveryRetries(max_attempts=2, base_seconds=1, max_seconds=1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FakeMail:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail: Exception | None = None

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append({"to": to, "subject": subject, "body": body, "id": message_id})

    async def close(self) -> None:
        pass


class FakeHooks:
    def __init__(self) -> None:
        self.posted: list[tuple[str, bytes, dict[str, str]]] = []

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.posted.append((url, body, headers))

    async def close(self) -> None:
        pass


@pytest.fixture
async def units() -> AsyncIterator[Units[NotifyUnit]]:
    async with memory_units(NotifyUnit, COLLECTIONS) as made:
        made.clock = Clock()
        yield made


@pytest.fixture
def mail() -> FakeMail:
    return FakeMail()


@pytest.fixture
def deps(units: Units[NotifyUnit], mail: FakeMail) -> Notify:
    settings = NotifySettings(max_attempts=2, regional_emails={"32": "ikm@jabar.example"})
    built = bootstrap(
        units.store, units.outbox, settings, clock=units.clock, email=mail, webhooks=FakeHooks()
    )
    return built


def registered(email: str | None = "siti@example.id", province: str = "34") -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=NIB,
        province=province,
        name="CV Maju",
        regency=f"{province}71",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(name="Siti", email=email, phone="081234567890"),
        registered_at=T0,
    )


def meta_of(event: Event, sequence: int = 1) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ikm/registry",
        time=T0,
        subject=event.aggregate_id(),
        region=event.region(),
        sequence=sequence,
        hash="h",
    )


async def decide(deps: Notify, *events: Event) -> list[Notification]:
    batch = [(event, meta_of(event, i)) for i, event in enumerate(events, start=1)]
    async with deps.units.open() as uow:
        return await handlers.notify_about(uow, batch, deps.configured_contacts, deps.subscriptions)


async def stored(units: Units[NotifyUnit], notification_id: str) -> Notification:
    async with units.open() as uow:
        return await uow.notifications.get(notification_id)


def later(units: Units[NotifyUnit], seconds: float) -> None:
    clock = units.clock
    assert isinstance(clock, Clock)
    clock.now = T0 + timedelta(seconds=seconds)


# --- deciding --------------------------------------------------------------------------------


async def test_an_event_notifies_owner_and_officers_and_learns_the_contact(deps: Notify) -> None:
    made = await decide(deps, registered())
    assert {(n.recipient, n.channel, n.status) for n in made} == {
        (OWNER, "email", "pending"),
        (OWNER, "inbox", "delivered"),
        ("regional:34", "inbox", "delivered"),
    }
    email = next(n for n in made if n.channel == "email")
    assert email.target == "siti@example.id" and email.next_attempt_at == T0
    async with deps.units.open() as uow:
        contact = await uow.contacts.get(OWNER)
    assert contact.name == "Siti" and contact.email == "siti@example.id"


async def test_configured_offices_are_emailed_and_unknown_ones_are_not(deps: Notify) -> None:
    jabar = await decide(deps, registered(province="32"))
    assert ("regional:32", "email") in {(n.recipient, n.channel) for n in jabar}
    assert next(n for n in jabar if n.recipient == "regional:32" and n.channel == "email").target
    async with deps.units.open() as uow:
        await uow.tx.delete("notifications", jabar[0].id)  # keep ids apart: a fresh event below
    yogya = await decide(deps, registered(province="34"))
    assert ("regional:34", "email") not in {(n.recipient, n.channel) for n in yogya}


async def test_webhook_subscribers_get_the_masked_cloudevent(deps: Notify) -> None:
    await deps.units.run(
        handlers.subscribe,
        Subscribe(
            url="http://hooks.example/x", event_types=["EnterpriseRegistered"], secret="s" * 16
        ),
        MINISTRY,
    )
    hook = next(n for n in await decide(deps, registered()) if n.channel == "webhook")
    assert hook.target == "http://hooks.example/x"
    assert "siti@example.id" not in hook.body and '"nib":"1234567890123"' in hook.body


# --- delivery outcomes: events born in the domain --------------------------------------------


async def test_a_delivered_email_records_its_event_and_ledger_line(
    deps: Notify, units: Units[NotifyUnit], mail: FakeMail
) -> None:
    await decide(deps, registered())
    later(units, 1)
    assert await deps.dispatcher.dispatch_due() == 1
    assert [m["to"] for m in mail.sent] == ["siti@example.id"]
    [event] = await recorded_events(units)
    assert isinstance(event, NotificationDelivered)
    assert (event.recipient, event.channel, event.attempts) == (OWNER, "email", 1)
    report = await units.read(queries.deliveries_of, event.source_event_id, MINISTRY)
    assert report.all_delivered and report.summary == "delivered to 3 of 3 recipients/subscribers"
    assert [a.status for a in report.attempts if a.channel == "email"] == ["delivered"]


async def test_failures_retry_then_die_with_an_event_and_redrive_sends_again(
    deps: Notify, units: Units[NotifyUnit], mail: FakeMail
) -> None:
    email_id = next(n.id for n in await decide(deps, registered()) if n.channel == "email")
    mail.fail = ConnectionRefusedError("smtp down")
    later(units, 1)
    await deps.dispatcher.dispatch_due()
    assert await recorded_events(units) == []  # a retry is not an outcome
    later(units, 5)
    await deps.dispatcher.dispatch_due()
    [dead] = await recorded_events(units)
    assert isinstance(dead, NotificationDead) and dead.attempts == 2
    assert "smtp down" in dead.last_error

    mail.fail = None
    later(units, 5.5)
    assert await units.run(handlers.redrive, Redrive(ids=[email_id]), MINISTRY) == [email_id]
    later(units, 6)
    await deps.dispatcher.dispatch_due()
    assert [type(e) for e in await recorded_events(units)] == [
        NotificationDead,
        NotificationDelivered,
    ]
    report = await units.read(queries.deliveries_of, dead.source_event_id, MINISTRY)
    statuses = [a.status for a in report.attempts if a.notification_id == email_id]
    assert statuses == ["failed", "dead", "redriven", "delivered"]
    with pytest.raises(InvalidInput):  # no longer dead
        await units.run(handlers.redrive, Redrive(ids=[email_id]), MINISTRY)


async def test_an_undeliverable_address_is_dead_at_once(
    deps: Notify, units: Units[NotifyUnit], mail: FakeMail
) -> None:
    await decide(deps, registered())
    mail.fail = UndeliverableAddress("not ASCII")
    later(units, 1)
    await deps.dispatcher.dispatch_due()
    [dead] = await recorded_events(units)
    assert isinstance(dead, NotificationDead) and dead.attempts == 1


async def test_record_outcomes_resolves_a_late_address(
    units: Units[NotifyUnit], deps: Notify
) -> None:
    # Verified before the registration (other topics' events are unordered): no address yet.
    verified = EnterpriseVerified(nib=NIB, province="34", verified_by="o", verified_at=T0)
    made = await decide(deps, verified)
    email = await stored(units, next(n.id for n in made if n.channel == "email"))
    assert email.target is None
    outcome = SendOutcome(email, target="late@example.id")
    await units.run(handlers.record_outcomes, [outcome], POLICY)
    after = await stored(units, email.id)
    assert after.status == "delivered" and after.target == "late@example.id"


async def test_redrive_all_and_its_input_rules(deps: Notify, units: Units[NotifyUnit]) -> None:
    made = await decide(deps, registered())
    email = await stored(units, next(n.id for n in made if n.channel == "email"))
    await units.run(handlers.record_outcomes, [SendOutcome(email, "x", permanent=True)], POLICY)
    assert await handlers.redrive_requested(units, Redrive(all=True), MINISTRY) == [email.id]
    with pytest.raises(InvalidInput):
        await units.run(handlers.redrive, Redrive(), MINISTRY)
    with pytest.raises(NotFound):
        await units.run(handlers.redrive, Redrive(ids=["nope"]), MINISTRY)


# --- in-app messages and access --------------------------------------------------------------


async def test_messages_are_read_by_their_recipient_only(
    deps: Notify, units: Units[NotifyUnit]
) -> None:
    await decide(deps, registered())
    owner = Caller(subject="siti", role="enterprise", nib=NIB)
    stranger = Caller(subject="other", role="enterprise", nib="9999999999999")
    listing = await units.read(
        queries.messages_of, OWNER, owner, deps.renderer, cursor=None, limit=10
    )
    assert listing.unread == 1 and listing.items[0].title
    with pytest.raises(Forbidden):
        await units.read(queries.messages_of, OWNER, stranger, deps.renderer, cursor=None, limit=10)
    # Another reader's message is answered as a missing one: its existence does not leak.
    with pytest.raises(NotFound):
        await units.run(handlers.mark_read, listing.items[0].id, stranger)
    await units.run(handlers.mark_read, listing.items[0].id, owner)
    assert (await units.read(queries.unread_of, OWNER, owner)).unread == 0


async def test_operators_only(deps: Notify, units: Units[NotifyUnit]) -> None:
    owner = Caller(subject="siti", role="enterprise", nib=NIB)
    regional = Caller(subject="r", role="regional", province="34")
    with pytest.raises(Forbidden):
        await units.read(queries.deliveries_of, "e1", owner)
    with pytest.raises(Forbidden):
        await units.read(queries.dead, regional, cursor=None, limit=10)
    with pytest.raises(Forbidden):
        await handlers.redrive_requested(units, Redrive(all=True), regional)
    other_province = Subscribe(
        url="http://hooks.example/y",
        event_types=["EnterpriseRegistered"],
        province="31",
        secret="s" * 16,
    )
    with pytest.raises(Forbidden):
        await units.run(handlers.subscribe, other_province, regional)
    # A regional officer stops only their province's subscriptions; another is not found.
    with pytest.raises(NotFound):
        await units.run(handlers.unsubscribe, "any", regional)
    with pytest.raises(Forbidden):
        await units.run(handlers.unsubscribe, "any", owner)


async def test_subscriptions_check_event_names_and_are_listed_by_province(
    units: Units[NotifyUnit],
) -> None:
    unknown = Subscribe(url="http://h.example/z", event_types=["NoSuchEvent"], secret="s" * 16)
    with pytest.raises(InvalidInput):
        await units.run(handlers.subscribe, unknown, MINISTRY)
    regional = Caller(subject="r", role="regional", province="34")
    for province in ("34", "31"):
        cmd = Subscribe(
            url="http://h.example/z",
            event_types=["EnterpriseRegistered"],
            province=province,
            secret="s" * 16,
        )
        await units.run(handlers.subscribe, cmd, MINISTRY)
    seen = await units.read(queries.subscriptions, regional)
    assert [s.province for s in seen.items] == ["34"]
    await units.run(handlers.unsubscribe, seen.items[0].id, MINISTRY)
    assert (await units.read(queries.subscriptions, regional)).items == []


def named(err: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[str | None, str | None]]:
    every = err.value.violations if isinstance(err.value, InvalidInputs) else [err.value]
    return {(v.field, v.rule) for v in every}


async def test_a_subscription_breaking_several_rules_names_each(units: Units[NotifyUnit]) -> None:
    cmd = Subscribe(
        url="http://h.example/z", event_types=["NoSuchEvent"], secret="whsec_!!notbase64!!"
    )
    with pytest.raises(InvalidInput) as caught:
        await units.run(handlers.subscribe, cmd, MINISTRY)
    assert named(caught) == {("event_types", "known_event"), ("secret", "webhook_secret_format")}


async def test_redriving_several_live_notifications_names_each(
    deps: Notify, units: Units[NotifyUnit]
) -> None:
    made = await decide(deps, registered())
    ids = [n.id for n in made][:2]
    with pytest.raises(InvalidInput) as caught:
        await units.run(handlers.redrive, Redrive(ids=ids), MINISTRY)
    assert named(caught) == {("ids[0]", "not_dead"), ("ids[1]", "not_dead")}


async def test_an_id_named_twice_is_redriven_once(deps: Notify, units: Units[NotifyUnit]) -> None:
    """An operator's list with a repeat (``ikm notify dead redrive A A``): the second copy
    saved over the first's version, a 409 conflict.version on a body without a version that
    no retry could pass, and nothing redriven."""
    made = await decide(deps, registered())
    email = await stored(units, next(n.id for n in made if n.channel == "email"))
    await units.run(handlers.record_outcomes, [SendOutcome(email, "x", permanent=True)], POLICY)
    later(units, 1)  # the ledger's lines in time order
    redriven = await units.run(handlers.redrive, Redrive(ids=[email.id, email.id]), MINISTRY)
    assert redriven == [email.id]
    report = await units.read(queries.deliveries_of, email.event_id, MINISTRY)
    assert [a.status for a in report.attempts if a.notification_id == email.id] == [
        "dead",
        "redriven",
    ]


async def test_the_api_names_an_internal_url_with_the_other_broken_fields(deps: Notify) -> None:
    body = Subscribe(url="http://10.0.0.1/x", event_types=["NoSuchEvent"], secret="s" * 16)
    with pytest.raises(InvalidInput) as caught:
        await api.subscribe(body, deps, MINISTRY, None)
    assert named(caught) == {("url", "webhook_private_address"), ("event_types", "known_event")}


async def test_a_kept_error_shows_no_address_as_the_ledger_does(
    deps: Notify, units: Units[NotifyUnit]
) -> None:
    """The ledger masks an e-mail target for every reader; the error an SMTP server gave
    (``550 <siti@example.id>: no such user``) is shown the same way in ``/dead`` and
    ``/deliveries`` (and so in ``ikm notify dead list``), not in full beside the masked target."""
    made = await decide(deps, registered())
    email = await stored(units, next(n.id for n in made if n.channel == "email"))
    refusal = "SMTPRecipientsRefused: {'siti@example.id': (550, 'no such user 081234567890')}"
    await units.run(handlers.record_outcomes, [SendOutcome(email, refusal, permanent=True)], POLICY)
    [dead] = (await units.read(queries.dead, MINISTRY, cursor=None, limit=10)).items
    report = await units.read(queries.deliveries_of, email.event_id, MINISTRY)
    shown = [dead.last_error or "", *(n.last_error or "" for n in report.notifications)]
    shown += [a.error or "" for a in report.attempts]
    assert any("(550, 'no such user" in text for text in shown)
    for text in shown:
        assert "siti@example.id" not in text and "081234567890" not in text, text
