"""Webhook subscriptions, their notifications and the signature receivers check. Pure.

Subscribers are systems, not the events' data subjects: they get the CloudEvent with the
contract-marked personal data masked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ConfigDict

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from ikmkit.audit.masking import mask_payload
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.store.repository import Versioned
from services.notify.domain.model import Notification, notification_id, subscription_recipient

# Standard Webhooks (https://www.standardwebhooks.com/): headers and secret form.
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"


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


def mask_url(url: str) -> str:
    """A subscription's URL as shown after its creation: the password of its user info and
    every query value masked (``https://u:***@host/in?token=***``), since receivers often
    carry their credentials there; the scheme, host, path and query keys stay readable."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = "&".join(
        f"{key}={MASK}" if sep else key
        for key, sep, _ in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


MASK = "***"


def check_subscription(
    event_types: list[str], secret: str | None, known: frozenset[str] | set[str]
) -> None:
    """Every rule a subscription's fields break, named at once."""
    found = Violations()
    found.check(check_event_types, event_types, known)
    if secret is not None:
        found.check(check_secret, secret)
    found.raise_all()


def check_event_types(event_types: list[str], known_events: frozenset[str] | set[str]) -> None:
    unknown = sorted(set(event_types) - known_events)
    if unknown:
        raise InvalidInput(
            f"event types no subscriber receives (unknown, or notify's own): {', '.join(unknown)}",
            field="event_types",
            rule="known_event",
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


def signing_key(secret: str) -> bytes:
    """The HMAC key: a ``whsec_<base64>`` secret's decoded bytes (Standard Webhooks); any
    other secret (subscriptions made before the standard, or a chosen passphrase) is used as
    its UTF-8 bytes, so existing receivers keep their secret (docs/notify.md)."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    return secret.encode()


def check_secret(secret: str) -> None:
    """A ``whsec_`` secret must be base64 of 24 to 64 bytes (the standard's range)."""
    if not secret.startswith(SECRET_PREFIX):
        return
    try:
        size = len(signing_key(secret))
    except (binascii.Error, ValueError):
        size = -1
    if not 24 <= size <= 64:
        raise InvalidInput(
            "a whsec_ secret is whsec_ + base64 of 24 to 64 random bytes",
            field="secret",
            rule="webhook_secret_format",
        )


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 over ``<id>.<timestamp>.<body>`` (Standard Webhooks)."""
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(mac).decode()}"


def verify_webhook_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: float = 300,
) -> bool:
    """The receiver's check: a ``v1`` signature among the space-separated ones matches, and
    the timestamp is recent enough to stop replays."""
    found = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp = found.get(ID_HEADER, ""), found.get(TIMESTAMP_HEADER, "")
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    expected = webhook_signature(secret, msg_id, timestamp, body)
    offered = found.get(SIGNATURE_HEADER, "").split(" ")
    return bool(msg_id) and fresh and any(hmac.compare_digest(expected, o) for o in offered)


def signed_headers(
    subscription: Subscription, body: bytes, timestamp: str, delivery_id: str
) -> dict[str, str]:
    """Standard Webhooks headers; ``webhook-id`` is the notification id, the same on every
    retry of one delivery (receivers drop duplicates with it)."""
    return {
        "Content-Type": "application/cloudevents+json",
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(subscription.secret, delivery_id, timestamp, body),
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
