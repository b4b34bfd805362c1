"""``ikm audit --nib``: which events are about an enterprise is each contract's to say."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from contracts import envelope as ce
from contracts.base import Event
from contracts.notify import NotificationDelivered, enterprise_recipient
from contracts.registry import EnterpriseVerified
from ikmkit.audit.chain import ChainVerifier, Checked
from ikmkit.audit.findings import Kind
from ikmkit.audit.selection import Selection
from tests.support.audit_streams import stream

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


def test_a_record_whose_time_cannot_be_read_is_reported_whatever_the_window() -> None:
    """A window chooses events by their own time: one whose ``ce_time`` cannot be read cannot
    be shown to lie outside it, and was left out of the report (exit 0 on a garbled log)."""
    first, second = stream("1000000000301", 2)
    garbled = replace(
        second, headers=[(k, b"yesterday" if k == ce.H_TIME else v) for k, v in second.headers]
    )
    window = Selection(since=datetime(2026, 1, 1, tzinfo=UTC))
    verifier = ChainVerifier()
    for record in (first, garbled):
        verifier.check(record, selected=window.selects)
    assert [f.kind for f in verifier.finish()] == [Kind.UNDECODABLE]
