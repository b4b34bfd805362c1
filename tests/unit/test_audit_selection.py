"""``ikm audit --nib``: which events are about an enterprise is each contract's to say."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import envelope as ce
from contracts.base import Event
from contracts.notify import NotificationDelivered, enterprise_recipient
from contracts.registry import EnterpriseVerified
from ikmkit.audit.chain import Checked
from ikmkit.audit.selection import Selection

NIB, OTHER = "1234567890123", "9876543210987"
AT = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FakeRecord:
    value: bytes
    key: bytes = b""
    topic: str = "t"
    partition: int = 0
    offset: int = 0


def checked(model: type[Event] | None, subject: str, data: dict[str, Any]) -> Checked:
    record: Any = FakeRecord(json.dumps(data).encode())
    raw = {ce.H_SUBJECT: subject.encode()}
    return Checked(record, raw, model, AT, 1)


def delivered(recipient: str) -> dict[str, Any]:
    event = NotificationDelivered(
        notification_id="n",
        source_event_id="e-1",
        source_event_type="t",
        recipient=recipient,
        channel="email",
        attempts=1,
        delivered_at=AT,
    )
    return event.model_dump(mode="json")


def test_a_delivery_concerns_the_enterprise_it_was_sent_to() -> None:
    about = Selection(nib=NIB)
    assert about.selects(
        checked(NotificationDelivered, "e-1", delivered(enterprise_recipient(NIB)))
    )
    assert not about.selects(
        checked(NotificationDelivered, "e-1", delivered(enterprise_recipient(OTHER)))
    )
    assert not about.selects(checked(NotificationDelivered, "e-1", delivered(f"partner:{NIB}")))


def test_an_event_with_a_nib_field_concerns_that_enterprise() -> None:
    data = EnterpriseVerified(
        nib=NIB, province="34", verified_by="officer", verified_at=AT
    ).model_dump(mode="json")
    assert Selection(nib=NIB).selects(checked(EnterpriseVerified, "another-subject", data))
    assert not Selection(nib=OTHER).selects(checked(EnterpriseVerified, "another-subject", data))
    # an event the audit cannot decode is judged by the default rule
    assert Selection(nib=NIB).selects(checked(None, "x", {"nib": NIB}))
    assert not Selection(nib=NIB).selects(checked(None, "x", {"recipient": NIB}))


def test_the_subject_is_always_about_itself() -> None:
    assert Selection(nib=NIB).selects(checked(EnterpriseVerified, NIB, {}))
