"""The outbox as laid out before session 21 (documents, expression indexes), events to fill it."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.registry import EnterpriseRegistered
from ikmkit.messaging.outbox import (
    OUTBOX,
    OUTBOX_LOG,
    OUTBOX_STREAMS,
)
from ikmkit.store import CollectionSpec
from tests.support.enterprises import registration

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
    return registration(f"{1234567890000 + i}", f"CV Uji {i}", at=datetime(2026, 1, 1, tzinfo=UTC))
