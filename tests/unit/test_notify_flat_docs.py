"""Notify's consumer path without pydantic's generic work: notifications built without
re-validation and documents stored without ``model_dump`` (``services.notify.flatdoc``) must
be exactly the validated models and what ``Repository._doc`` wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError

from contracts.envelope import EnvelopeAttributes
from contracts.notify import Channel, NotificationDelivered
from ikmkit.messaging.cloudevents import event_payload
from ikmkit.store.repository import Versioned
from services.notify.domain.model import (
    Contact,
    Delivery,
    DeliveryRetries,
    LedgerStatus,
    Notification,
)
from services.notify.flatdoc import FlatDocs
from services.notify.store import ContactRepository, DeliveryRepository, NotificationRepository

AT = datetime(2026, 12, 1, 19, 30, 5, 123456, tzinfo=UTC)
JAKARTA = timezone(timedelta(hours=7))


def _generic(item: Versioned, id_field: str) -> dict[str, Any]:
    return {**item.model_dump(mode="json"), "id": str(getattr(item, id_field))}


def _notifications() -> list[Notification]:
    pending = Notification(
        id="e1|enterprise:9000000000001|email",
        event_id="e1",
        event_type="EnterpriseRegistered",
        recipient="enterprise:9000000000001",
        channel="email",
        province="31",
        target="pemilik@example.id",
        data='{"name":"Toko \\"Ñusantara\\" 🛠"}',
        is_subject=True,
        next_attempt_at=AT,
        created_at=AT,
        version=3,
    )
    delivered = pending.delivered(AT + timedelta(seconds=2)).state
    failed = pending.failed("421 busy", AT.astimezone(JAKARTA), DeliveryRetries()).state
    dead = pending.dead("550 no such user", AT).state
    in_app = pending.model_copy(
        update={
            "channel": "inbox",
            "status": "delivered",
            "created_at": AT.replace(tzinfo=None),  # naive: written without an offset
            "delivered_at": AT.astimezone(JAKARTA),
            "read": True,
        }
    )
    return [pending, delivered, failed, dead, in_app]


@pytest.mark.parametrize("notification", _notifications())
def test_a_notification_document_is_the_generic_one(notification: Notification) -> None:
    doc = NotificationRepository(None)._doc(notification)  # type: ignore[arg-type]
    expected = _generic(notification, "id")
    assert doc == expected
    assert list(doc) == list(expected)


def test_a_contact_document_is_the_generic_one() -> None:
    for contact in (
        Contact(recipient="enterprise:1", name="Siti", email="s@example.id", phone="0812"),
        Contact(recipient="regional:31", name="Disperindag", version=4, language="en"),
    ):
        doc = ContactRepository(None)._doc(contact)  # type: ignore[arg-type]
        assert doc == _generic(contact, "recipient")
        assert list(doc) == list(_generic(contact, "recipient"))


def test_equal_times_in_other_zones_are_written_as_each_is() -> None:
    """One cached time per batch, by identity: an equal instant elsewhere is not reused."""
    flat = FlatDocs(Notification, "id")
    first = _notifications()[0]
    utc = flat.doc(first)
    jakarta = flat.doc(first.model_copy(update={"created_at": AT.astimezone(JAKARTA)}))
    assert utc["created_at"] == "2026-12-01T19:30:05.123456Z"
    assert jakarta["created_at"] == "2026-12-02T02:30:05.123456+07:00"


class _Nested(BaseModel):
    value: int


class _Score(Versioned):
    id: str
    score: float


class _Holder(Versioned):
    id: str
    inner: _Nested


class _Tags(Versioned):
    id: str
    kind: Literal["a", 1]


@pytest.mark.parametrize("model", [_Score, _Holder, _Tags])
def test_a_model_that_is_not_flat_is_refused(model: type[BaseModel]) -> None:
    """A float may be NaN (the store writes that as text, not null), a nested model or a
    non-string literal would need pydantic's dump: such a model keeps the generic path."""
    with pytest.raises(TypeError, match="not flat"):
        FlatDocs(model, "id")


def test_a_subclass_gets_the_generic_document() -> None:
    class Extended(Notification):
        note: float = float("nan")

    item = Extended(**_notifications()[0].__dict__)
    assert FlatDocs(Notification, "id").doc(item) == _generic(item, "id")


def _meta(region: str | None = "31") -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id="e1",
        type="ikm.registry.enterprise.registered.v1",
        source="/ikm/registry",
        time=AT,
        subject="9000000000001",
        region=region,
        sequence=1,
        hash="",
    )


@pytest.mark.parametrize("channel", ["email", "inbox", "webhook"])
@pytest.mark.parametrize(
    "contact",
    [None, Contact(recipient="enterprise:1", name="Siti", email="s@example.id", language="en")],
)
@pytest.mark.parametrize("region", ["31", None])
def test_a_decided_notification_is_the_validated_model(
    channel: Channel, contact: Contact | None, region: str | None
) -> None:
    """The consumer builds notifications without re-validating values of known types: the
    same model (fields, order, fields set) as validation gives."""
    meta = _meta(region)
    made = Notification.to_recipient(
        meta, "EnterpriseRegistered", "enterprise:1", channel,
        contact=contact, data='{"nib":"1"}', is_subject=True, at=AT,
    )  # fmt: skip
    validated = Notification(**made.model_dump(include=made.model_fields_set))
    assert made == validated
    assert list(made.__dict__) == list(validated.__dict__)
    assert made.model_fields_set == validated.model_fields_set
    assert made.model_dump_json() == validated.model_dump_json()
    assert made.model_copy(update={"read": True}).read is True
    with pytest.raises(ValidationError):
        made.status = "dead"  # type: ignore[misc]  # still frozen


def test_values_of_another_type_are_validated() -> None:
    """A stand-in for the envelope (or a channel not in the contract) goes through pydantic."""
    stand_in = SimpleNamespace(id="e1", region="31")
    with pytest.raises(ValidationError):
        Notification.to_recipient(
            stand_in, "EnterpriseRegistered", "enterprise:1", "fax",  # type: ignore[arg-type]
            contact=None, data="{}", is_subject=False, at=AT,
        )  # fmt: skip


@pytest.mark.parametrize("notification", _notifications())
@pytest.mark.parametrize(
    ("status", "error"),
    [("delivered", None), ("failed", "421 busy"), ("dead", "550 no such user"), ("redriven", "x")],
)
def test_a_ledger_row_is_the_validated_model_and_its_document_the_generic_one(
    notification: Notification, status: LedgerStatus, error: str | None
) -> None:
    """The dispatcher's ledger row per e-mail, built without re-validation and stored
    without ``model_dump``: the same model and document as validation and the generic dump."""
    line = Delivery.of(notification, status, error, AT, key="k.1")
    validated = Delivery(**line.model_dump(include=line.model_fields_set))
    assert line == validated
    assert list(line.__dict__) == list(validated.__dict__)
    assert line.model_fields_set == validated.model_fields_set
    assert line.model_dump_json() == validated.model_dump_json()
    assert line.id == f"{notification.id}|k.1"
    masked = notification.channel == "email"
    assert line.target == ("p***@example.id" if masked else notification.target)
    doc = DeliveryRepository(None)._doc(line)  # type: ignore[arg-type]
    assert doc == _generic(line, "id")
    assert list(doc) == list(_generic(line, "id"))


def test_a_ledger_row_of_values_of_another_type_is_validated() -> None:
    with pytest.raises(ValidationError):
        Delivery.of(_notifications()[0], "lost", None, AT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Delivery.of(_notifications()[0], "failed", None, "yesterday")  # type: ignore[arg-type]


@pytest.mark.parametrize("notification", _notifications()[:1])
@pytest.mark.parametrize("at", [AT, AT.astimezone(JAKARTA), AT.replace(tzinfo=None)])
def test_a_delivered_event_is_the_validated_model(notification: Notification, at: datetime) -> None:
    """``NotificationDelivered``, one per e-mail sent, is built without re-validation: the
    same event (fields, order, fields set, payload) as validation gives."""
    (event,) = notification.delivered(at).events
    validated = NotificationDelivered(**event.model_dump(include=event.model_fields_set))
    assert type(event) is NotificationDelivered
    assert event == validated
    assert list(event.__dict__) == list(validated.__dict__)
    assert event.model_fields_set == validated.model_fields_set
    assert event.model_dump_json() == validated.model_dump_json()
    assert event_payload(event) == event_payload(validated)
    assert (event.attempts, event.delivered_at) == (notification.attempts + 1, at)


def test_a_delivered_event_of_a_time_of_another_type_is_validated() -> None:
    with pytest.raises(ValidationError):
        _notifications()[0].delivered("yesterday")  # type: ignore[arg-type]
