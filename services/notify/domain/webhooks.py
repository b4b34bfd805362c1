"""Webhook subscriptions, their notifications and the signature receivers check. Pure.

Subscribers are systems, not the events' data subjects: they get the CloudEvent with the
contract-marked personal data masked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from pydantic import ConfigDict

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from ikmkit.audit.masking import mask_payload
from ikmkit.service.errors import InvalidInput
from ikmkit.store.repository import Versioned
from services.notify.domain.model import Notification, notification_id, subscription_recipient

SIGNATURE_HEADER = "X-IKM-Signature"
TIMESTAMP_HEADER = "X-IKM-Timestamp"


class Subscription(Versioned):
    model_config = ConfigDict(frozen=True)

    id: str
    url: str
    event_types: list[str]
    province: str | None = None
    secret: str
    description: str = ""
    active: bool = True
    created_at: datetime

    def wants(self, event_name: str, province: str | None) -> bool:
        """The province filter keeps only events of that province (events without one excluded)."""
        if not self.active or event_name not in self.event_types:
            return False
        return self.province is None or self.province == province

    def stopped(self) -> Subscription:
        return self.model_copy(update={"active": False})


def check_event_types(event_types: list[str], known_events: set[str]) -> None:
    unknown = sorted(set(event_types) - known_events)
    if unknown:
        raise InvalidInput(
            f"unknown event types: {', '.join(unknown)}", field="event_types", rule="known_event"
        )


def notifications_for(
    event: Event, meta: EnvelopeAttributes, subscribers: list[Subscription], at: datetime
) -> list[Notification]:
    """One webhook notification per subscriber, carrying the masked CloudEvent as its body."""
    if not subscribers:
        return []
    name = type(event).__name__
    cloudevent = structured_cloudevent(
        meta.model_dump(mode="json"), mask_payload(type(event), event.model_dump(mode="json"))
    )
    body = json.dumps(cloudevent, separators=(",", ":"), ensure_ascii=False)
    return [
        Notification(
            id=notification_id(meta.id, subscription_recipient(sub.id), "webhook"),
            event_id=meta.id,
            event_type=name,
            recipient=subscription_recipient(sub.id),
            channel="webhook",
            province=meta.region,
            target=sub.url,
            subject=name,
            body=body,
            subscription_id=sub.id,
            next_attempt_at=at,
            created_at=at,
        )
        for sub in subscribers
    ]


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>`` (see docs/notify.md)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_webhook_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300
) -> bool:
    """The receiver's check: right signature, and a timestamp recent enough to stop replays."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


def signed_headers(
    subscription: Subscription, body: bytes, timestamp: str, delivery_id: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/cloudevents+json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(subscription.secret, timestamp, body),
        "X-IKM-Delivery-Id": delivery_id,
    }


def structured_cloudevent(attrs: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """CloudEvents structured JSON mode: context attributes plus ``data``."""
    event = {
        "specversion": "1.0",
        "id": attrs["id"],
        "type": attrs["type"],
        "source": attrs["source"],
        "time": attrs["time"],
        "subject": attrs["subject"],
        "datacontenttype": "application/json",
        "sequence": attrs["sequence"],
        "data": data,
    }
    if attrs.get("region") is not None:
        event["region"] = attrs["region"]
    return event
