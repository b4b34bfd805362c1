"""Notify's pure rules: dedup keys, retries, redrive, signatures, subscriptions, rule table,
templates and masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from contracts.catalog import EVENTS_BY_NAME
from contracts.registry import EnterpriseRegistered, MoUParty, MoUSigned, OwnerContact
from ikmkit.auth import Caller
from ikmkit.service.errors import InvalidInput
from services.notify.domain import access, model, rules, webhooks
from services.notify.domain.model import DeliveryRetries, Notification
from services.notify.domain.webhooks import Subscription
from services.notify.queries import subscription_view
from services.notify.templates import TEMPLATE_DIR, Renderer

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def pending(**changes: object) -> Notification:
    base = Notification(
        id="e1|enterprise:1234567890123|email",
        event_id="e1",
        event_type="EnterpriseRegistered",
        recipient="enterprise:1234567890123",
        channel="email",
        created_at=NOW,
        next_attempt_at=NOW,
    )
    return base.model_copy(update=changes)


def registered(language: str = "id") -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib="1234567890123",
        province="34",
        name="CV Maju",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(
            name="Siti",
            email="siti@example.id",
            phone="081234567890",
            preferred_language=language,
        ),
        registered_at=NOW,
    )


def test_dedup_key_is_event_recipient_channel() -> None:
    assert model.notification_id("e1", "regional:34", "inbox") == "e1|regional:34|inbox"


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = DeliveryRetries(base_seconds=1, max_seconds=10)
    assert policy.delay(1, rand=lambda lo, hi: hi) == 1
    assert policy.delay(3, rand=lambda lo, hi: hi) == 4
    assert policy.delay(3, rand=lambda lo, hi: lo) == 2
    assert policy.delay(10, rand=lambda lo, hi: hi) == 10


def test_failed_attempt_schedules_a_retry_then_parks_as_dead() -> None:
    policy = DeliveryRetries(max_attempts=2, base_seconds=1, max_seconds=1)
    first = pending().failed("refused", NOW, policy).state
    assert first.status == "pending" and first.attempts == 1 and first.last_error == "refused"
    retry_at = first.next_attempt_at
    assert retry_at is not None
    assert NOW + timedelta(seconds=0.5) <= retry_at <= NOW + timedelta(seconds=1)
    second = first.failed("still refused", NOW, policy).state
    assert second.status == "dead" and second.attempts == 2 and second.next_attempt_at is None


def test_success_is_delivered() -> None:
    done = pending(attempts=1).delivered(NOW).state
    assert done.status == "delivered" and done.attempts == 2
    assert done.delivered_at == NOW


def test_only_dead_notifications_are_redriven() -> None:
    dead = pending(status="dead", attempts=6, last_error="x")
    again = dead.redriven(NOW).state
    assert (again.status, again.attempts, again.redrives) == ("pending", 0, 1)
    with pytest.raises(InvalidInput):
        pending().redriven(NOW)


def test_webhook_signature_follows_the_documented_recipe() -> None:
    body = b'{"id":"e1"}'
    mac = hmac.new(b"s3cret", b"n1.1700000000." + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    assert webhooks.webhook_signature("s3cret", "n1", "1700000000", body) == f"v1,{expected}"
    signature = {"webhook-id": "n1", "webhook-timestamp": "1700000000"}
    signature["webhook-signature"] = f"v1,{expected}"
    ok = webhooks.verify_webhook_signature
    assert ok("s3cret", signature, body, now=1700000100)
    assert not ok("other", signature, body, now=1700000100)
    assert not ok("s3cret", signature, body + b" ", now=1700000100)
    assert not ok("s3cret", signature, body, now=1700001000)  # stale


def test_subscription_province_filter() -> None:
    sub = Subscription(
        id="s",
        url="http://x",
        event_types=["SubsidyApproved"],
        province="34",
        secret="k" * 16,
        created_at=NOW,
    )
    assert sub.wants("SubsidyApproved", "34")
    assert not sub.wants("SubsidyApproved", "31")
    assert not sub.wants("SubsidyApproved", None)
    assert not sub.wants("SubsidyRejected", "34")
    assert "secret" not in subscription_view(sub).model_dump()


def test_inbox_access() -> None:
    def may(recipient: str, role: str, **claims: str) -> bool:
        caller = Caller(subject="someone", role=role, **claims)  # type: ignore[arg-type]
        return access.can_read_messages(caller, recipient)

    assert may("regional:34", "ministry")
    assert may("regional:34", "regional", province="34")
    assert not may("regional:31", "regional", province="34")
    assert may("enterprise:1", "enterprise", nib="1")
    assert not may("enterprise:2", "enterprise", nib="1")
    assert may("partner:p", "partner", partner_id="p")


def test_rule_table_registration_owner_and_regional() -> None:
    assert rules.deliveries_for(registered()) == [
        ("enterprise:1234567890123", "email"),
        ("enterprise:1234567890123", "inbox"),
        ("regional:34", "inbox"),
        ("regional:34", "email"),
    ]


def test_mou_tells_every_party() -> None:
    signed = MoUSigned(
        mou_id="m1",
        title="Ayah angkat",
        scope="supply_chain_partnership",
        parties=[MoUParty(partner_id="ydba"), MoUParty(partner_id="ministry", role="witness")],
        valid_from=NOW.date(),
        valid_until=NOW.date(),
        signed_on=NOW.date(),
        document_ref="doc",
        signed_at=NOW,
    )
    recipients = {r for r, _ in rules.deliveries_for(signed)}
    assert recipients == {"partner:ydba", "ministry"}


def test_every_rule_has_templates_in_both_languages() -> None:
    for rule in rules.RULES.values():
        for language in ("id", "en"):
            assert (TEMPLATE_DIR / language / f"{rule.template}.j2").exists(), rule.template


def test_notify_consumes_every_other_services_event() -> None:
    consumed = {m.__name__ for m in rules.consumed_events()}
    assert {"EnterpriseRegistered", "SubsidyApproved", "MentorAssignmentEnded"} <= consumed
    assert "NotificationDelivered" not in consumed
    assert consumed <= set(EVENTS_BY_NAME)


def test_indonesian_and_english_rendering() -> None:
    renderer = Renderer()
    context = {"event": registered(), "event_id": "e1", "name": "Siti", "is_subject": True}
    indonesian = renderer.render("EnterpriseRegistered", "email", "id", context)
    assert indonesian.subject == "Pendaftaran IKM diterima: CV Maju"
    assert indonesian.body.startswith("Yth. Siti,")
    assert "1 Maret 2026" in indonesian.body
    english = renderer.render("EnterpriseRegistered", "email", "en", context)
    assert english.subject == "IKM registration received: CV Maju"
    assert english.body.startswith("Dear Siti,")
    assert "1 March 2026" in english.body


def test_personal_data_is_masked_for_everyone_but_its_owner() -> None:
    renderer = Renderer()
    officer = {"event": registered(), "event_id": "e1", "name": "x", "is_subject": False}
    inbox = renderer.render("EnterpriseRegistered", "inbox", "id", officer)
    assert "0812****7890" in inbox.body and "081234567890" not in inbox.body
    assert model.mask_nik("3471014508950001") == "3471********0001"
    assert model.mask_target("email", "siti@example.id") == "s***@example.id"
    assert model.mask_target("webhook", "http://x/y") == "http://x/y"
