"""Events published by the notify service.

Topic ``ikm.notify.delivery.v1`` (key = the id of the event that caused the
notification, so every notification of one event is ordered on one stream).
Recipients are logical keys (``enterprise:<nib>``, ``partner:<id>``,
``regional:<province>``, ``subscription:<id>``), never addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from contracts.base import Event, PersonalStr

DELIVERY_TOPIC = "ikm.notify.delivery.v1"

Channel = Literal["email", "inbox", "webhook"]


def enterprise_recipient(nib: str) -> str:
    """The recipient key of an enterprise."""
    return f"enterprise:{nib}"


class _DeliveryEvent(Event):
    TOPIC: ClassVar[str] = DELIVERY_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "source_event_id"

    notification_id: str
    source_event_id: str
    source_event_type: str
    recipient: str
    channel: Channel
    attempts: int

    @classmethod
    def concerns_enterprise(cls, data: Mapping[str, Any], nib: str) -> bool:
        return data.get("recipient") == enterprise_recipient(nib)


class NotificationDelivered(_DeliveryEvent):
    """A recipient or subscriber was told about an event (accepted by SMTP / HTTP 2xx / inbox)."""

    delivered_at: datetime


class NotificationDead(_DeliveryEvent):
    """Every attempt failed; the notification is parked until an operator redrives it."""

    last_error: PersonalStr
    dead_at: datetime
