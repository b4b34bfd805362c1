"""The outbox as laid out before session 21 (documents, expression indexes), events to fill it."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.registry import EnterpriseRegistered, OwnerContact
from ikmkit.messaging.outbox import (
    OUTBOX,
    OUTBOX_LOG,
    OUTBOX_STREAMS,
)
from ikmkit.store import CollectionSpec

OLD_LAYOUT = [
    CollectionSpec(
        OUTBOX,
        indexes=[
            ("sent", "created_ns", "sequence"),
            ("topic", "partition"),
            ("held", "topic", "key"),
            ("parked",),
        ],
    ),
    CollectionSpec(OUTBOX_STREAMS),
    CollectionSpec(OUTBOX_LOG),
]


def event(i: int) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=f"{1234567890000 + i}",
        province="34",
        name=f"CV Uji {i}",
        regency="3471",
        kbli="29300",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(name="Siti"),
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
