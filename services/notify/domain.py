"""Notify domain: recipients, notifications, retries, signatures. Pure, no I/O.

A notification is one (event, recipient, channel): its id *is* that dedup key,
so a redelivered event can never create a second one. Recipients are logical
keys, never addresses; addresses come from the service's contact replica.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from lokal.samaran import partial_mask
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints

from contracts.notify import Channel
from ikmkit.service import limits
from ikmkit.service.errors import InvalidInput
from ikmkit.service.limits import Code, Codes, Secret, Text

Language = Literal["id", "en"]
Status = Literal["pending", "delivered", "dead"]
CHANNELS: tuple[Channel, ...] = ("email", "inbox", "webhook")
SENT_LATER: tuple[Channel, ...] = ("email", "webhook")
"""Channels the dispatcher sends; the inbox is delivered when the notification is written."""

MINISTRY = "ministry"


# --- recipient keys -------------------------------------------------------------------------


def enterprise_recipient(nib: str) -> str:
    """The owner of an enterprise."""
    return f"enterprise:{nib}"


def regional_recipient(province: str) -> str:
    """The regional officers (Disperindag) of a province."""
    return f"regional:{province}"


def partner_recipient(partner_id: str) -> str:
    return f"partner:{partner_id}"


def participant_recipient(participant_id: str) -> str:
    return f"participant:{participant_id}"


def subscription_recipient(subscription_id: str) -> str:
    return f"subscription:{subscription_id}"


def recipient_kind(recipient: str) -> str:
    return recipient.split(":", 1)[0]


def may_read_inbox(
    recipient: str, *, role: str, province: str | None, nib: str | None, partner_id: str | None
) -> bool:
    """Ministry and services read any inbox; everyone else only their own."""
    if role in ("ministry", "service"):
        return True
    kind, _, key = recipient.partition(":")
    return (
        (role == "regional" and kind == "regional" and key == province)
        or (role == "enterprise" and kind == "enterprise" and key == nib)
        or (role == "partner" and kind == "partner" and key == partner_id)
    )


# --- contacts (the replica) -----------------------------------------------------------------


class Contact(BaseModel):
    """Where and how to reach a recipient; personal data (UU PDP)."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    name: str
    email: str | None = None
    phone: str | None = None
    language: Language = "id"
    organisation: str | None = None
    province: str | None = None


# --- notifications --------------------------------------------------------------------------


def notification_id(event_id: str, recipient: str, channel: Channel) -> str:
    """The dedup key: one notification per event, recipient and channel."""
    return f"{event_id}|{recipient}|{channel}"


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    event_id: str
    event_type: str
    recipient: str
    channel: Channel
    province: str | None = None
    language: Language = "id"
    target: str | None = None
    """E-mail address or webhook URL; None until known (resolved again when sending)."""
    data: str | None = None
    """The event's data as JSON text: e-mail and inbox messages are rendered from it when sent
    or read (rendering is the costly part, so the consumer only stores what to render; text,
    because encoding the nested object once per notification cost more than the insert)."""
    is_subject: bool = False
    """The recipient is the person the event's personal data belongs to (sees it unmasked)."""
    subject: str = ""
    body: str = ""
    """The webhook body (the masked CloudEvent); e-mail and inbox text are rendered from data."""
    subscription_id: str | None = None
    status: Status = "pending"
    attempts: int = 0
    next_attempt_at: str | None = None
    last_error: str | None = None
    created_at: str
    delivered_at: str | None = None
    read: bool = False
    redrives: int = 0


def mask_target(channel: Channel, target: str | None) -> str | None:
    """What a ledger reader may see of an address: e-mail addresses are personal data."""
    if target is None or channel != "email":
        return target
    return partial_mask("EMAIL", target)


# --- retries --------------------------------------------------------------------------------


class RetryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_attempts: int = 6
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, attempts: int, rand: Callable[[float, float], float] = random.uniform) -> float:
        """Exponential backoff with jitter after ``attempts`` failed attempts (half to full)."""
        ceiling = min(self.max_seconds, self.base_seconds * (2 ** (attempts - 1)))
        return rand(ceiling / 2, ceiling)


Outcome = Literal["delivered", "retry", "dead"]


def after_attempt(
    notification: Notification,
    *,
    error: str | None,
    now: datetime,
    policy: RetryPolicy,
    permanent: bool = False,
) -> Notification:
    """The notification once an attempt succeeded (``error`` None) or failed.

    A ``permanent`` failure (e.g. an address no server can take) is dead at once.
    """
    attempts = notification.attempts + 1
    stamp = now.isoformat()
    if error is None:
        return notification.model_copy(
            update={"status": "delivered", "attempts": attempts, "delivered_at": stamp}
        )
    if permanent or attempts >= policy.max_attempts:
        return notification.model_copy(
            update={
                "status": "dead",
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": None,
            }
        )
    retry_at = now + timedelta(seconds=policy.delay(attempts))
    return notification.model_copy(
        update={"attempts": attempts, "last_error": error, "next_attempt_at": retry_at.isoformat()}
    )


def redriven(notification: Notification, now: datetime) -> Notification:
    """A dead notification back in the queue, with a fresh set of attempts."""
    if notification.status != "dead":
        raise InvalidInput(
            f"notification {notification.id} is {notification.status}, not dead",
            field="id",
            rule="not_dead",
        )
    return notification.model_copy(
        update={
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now.isoformat(),
            "redrives": notification.redrives + 1,
        }
    )


# --- webhook subscriptions ------------------------------------------------------------------


class SubscriptionRequest(BaseModel):
    """``POST /subscriptions`` body."""

    url: Annotated[HttpUrl, UrlConstraints(max_length=limits.URL_MAX)]
    event_types: Codes = Field(min_length=1, description="Event names, e.g. SubsidyApproved.")
    province: Code | None = Field(None, description="Only events of this province (2 digits).")
    secret: Secret = Field(
        min_length=16, description="Shared secret for the HMAC-SHA256 signature."
    )
    description: Text = ""


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    url: str
    event_types: list[str]
    province: str | None = None
    secret: str
    description: str = ""
    active: bool = True
    created_at: str

    def wants(self, event_name: str, province: str | None) -> bool:
        """The province filter keeps only events of that province (events without one excluded)."""
        if not self.active or event_name not in self.event_types:
            return False
        return self.province is None or self.province == province

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude={"secret"})


def check_subscription(request: SubscriptionRequest, known_events: set[str]) -> None:
    unknown = sorted(set(request.event_types) - known_events)
    if unknown:
        raise InvalidInput(
            f"unknown event types: {', '.join(unknown)}", field="event_types", rule="known_event"
        )
    if request.province is not None and not (
        len(request.province) == 2 and request.province.isdigit()
    ):
        raise InvalidInput(
            "province must be a 2-digit Kemendagri code", field="province", rule="province_code"
        )


SIGNATURE_HEADER = "X-IKM-Signature"
TIMESTAMP_HEADER = "X-IKM-Timestamp"


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


# --- personal data in messages --------------------------------------------------------------


def mask_nik(value: str | None) -> str:
    return "" if not value else partial_mask("NIK", value)


def mask_phone(value: str | None) -> str:
    return "" if not value else partial_mask("PHONE", value)


def mask_email(value: str | None) -> str:
    return "" if not value else partial_mask("EMAIL", value)
