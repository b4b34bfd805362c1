"""Consumer records with a W3C traceparent each, for the consumer span tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.envelope import EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered, OwnerContact
from ikmkit.messaging.cloudevents import event_payload, to_headers
from tests.support.records import Record


def record(i: int) -> Record:
    event = EnterpriseRegistered(
        nib=f"9{i:012d}",
        province="34",
        name=f"IKM {i}",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(name="Pemilik", email=f"o{i}@example.id", preferred_language="id"),
        registered_at=datetime.now(UTC),
    )
    attrs = EnvelopeAttributes(
        id=f"e-{i}-{uuid.uuid4()}",
        type=event.ce_type(),
        source="/ikm/registry",
        time=datetime.now(UTC),
        subject=event.nib,
        region="34",
        sequence=1,
        hash="",
        traceparent=traceparent(i),
    )
    return Record(
        ENTERPRISE_TOPIC, 2, 40 + i, event.nib.encode(), event_payload(event).encode(),
        to_headers(attrs),
    )  # fmt: skip


def traceparent(i: int) -> str:
    return f"00-{i + 1:032x}-{i + 1:016x}-01"
