"""Notifications, recipients, contacts and retries. Pure, no I/O.

A notification is one (event, recipient, channel): its id *is* that dedup key, so a
redelivered event can never create a second one. Recipients are logical keys, never
addresses; addresses come from the service's contact replica. A notification's delivery
outcome is a transition that returns ``Changed(state, events)``: ``NotificationDelivered``
and ``NotificationDead`` are born here.
"""

from __future__ import annotations

import random
import typing
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import privacy
from contracts.base import as_validated
from contracts.envelope import EnvelopeAttributes
from contracts.notify import Channel, NotificationDead, NotificationDelivered
from contracts.values import Language
from ikmkit.service.errors import InvalidInput
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed

Status = Literal["pending", "delivered", "dead"]
LedgerStatus = Literal["delivered", "failed", "dead", "redriven"]

IN_APP: Channel = "inbox"
"""The in-app channel: messages people read in the application (the wire value is "inbox").
It is delivered by the write that creates the notification; the others are sent later."""
SENT_LATER: tuple[Channel, ...] = ("email", "webhook")

MINISTRY = "ministry"


# --- recipient keys -------------------------------------------------------------------------


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


# --- contacts (the replica) -----------------------------------------------------------------


class Contact(Versioned):
    """Where and how to reach a recipient; personal data (UU PDP)."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    name: str
    email: str | None = None
    phone: str | None = None
    language: Language = "id"
    organisation: str | None = None
    province: str | None = None

    def same_as(self, other: Contact | None) -> bool:
        """The same details (whatever version either was read at)."""
        return other is not None and self.model_dump(exclude={"version"}) == other.model_dump(
            exclude={"version"}
        )


# --- retries --------------------------------------------------------------------------------


class DeliveryRetries(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_attempts: int = 6
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, attempts: int, rand: Callable[[float, float], float] = random.uniform) -> float:
        """Exponential backoff with jitter after ``attempts`` failed attempts (half to full)."""
        ceiling = min(self.max_seconds, self.base_seconds * (2 ** (attempts - 1)))
        return rand(ceiling / 2, ceiling)


# --- notifications --------------------------------------------------------------------------


def notification_id(event_id: str, recipient: str, channel: Channel) -> str:
    """The dedup key: one notification per event, recipient and channel."""
    return f"{event_id}|{recipient}|{channel}"


class Notification(Versioned):
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
    """The event's data as JSON text: e-mails and in-app messages are rendered from it when
    sent or read (rendering is the costly part, so the consumer only stores what to render)."""
    is_subject: bool = False
    """The recipient is the person the event's personal data belongs to (sees it unmasked)."""
    subject: str = ""
    body: str = ""
    """The webhook body (the masked CloudEvent); e-mail and in-app text are rendered from data."""
    subscription_id: str | None = None
    status: Status = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    read: bool = False
    redrives: int = 0

    @classmethod
    def to_recipient(
        cls,
        meta: EnvelopeAttributes,
        event_type: str,
        recipient: str,
        channel: Channel,
        *,
        contact: Contact | None,
        data: str,
        is_subject: bool,
        at: datetime,
    ) -> Notification:
        """A person's notification; an in-app message is delivered by being written."""
        in_app = channel == IN_APP
        values = {
            "id": notification_id(meta.id, recipient, channel),
            "event_id": meta.id,
            "event_type": event_type,
            "recipient": recipient,
            "channel": channel,
            "province": meta.region,
            "language": contact.language if contact else "id",
            "target": recipient if in_app else (contact.email if contact else None),
            "data": data,
            "is_subject": is_subject,
            "status": "delivered" if in_app else "pending",
            "attempts": 1 if in_app else 0,
            "delivered_at": at if in_app else None,
            "next_attempt_at": None if in_app else at,
            "created_at": at,
        }
        if not (
            type(meta) is EnvelopeAttributes
            and type(at) is datetime
            and (contact is None or type(contact) is Contact)
            and channel in _CHANNELS
            and type(data) is str
        ):
            return cls(**values)  # anything else is validated, as before
        return cls._trusted(values)

    @classmethod
    def _trusted(cls, values: dict[str, Any]) -> Notification:
        """The consumer's three notifications per event, without pydantic re-checking values
        that are already of their types: the envelope's (validated when decoded), the
        contact's (validated when built or read), the rule table's channel (a ``Channel``),
        the unit of work's time. The same model as ``cls(**values)`` (fields, their order,
        ``model_fields_set``: ``tests/unit/test_notify_flat_docs.py``), at a fifth of the
        CPU (validation was the costliest part of deciding an event)."""
        return as_validated(cls, {**_NOTIFICATION_DEFAULTS, **values}, set(values))

    def attempted(
        self,
        error: str | None,
        at: datetime,
        policy: DeliveryRetries,
        *,
        permanent: bool = False,
        target: str | None = None,
    ) -> Changed[Notification]:
        """A send's outcome: delivered when there was no ``error``, else failed."""
        if error is None:
            return self.delivered(at, target=target)
        return self.failed(error, at, policy, permanent=permanent, target=target)

    def delivered(self, at: datetime, *, target: str | None = None) -> Changed[Notification]:
        """An attempt succeeded (``target``: the address it went to, if resolved only now)."""
        done = self.model_copy(
            update={
                "status": "delivered",
                "attempts": self.attempts + 1,
                "delivered_at": at,
                "last_error": None,
                "target": target or self.target,
            }
        )
        values = {**done._outcome(), "delivered_at": at}
        if type(at) is not datetime:
            return Changed(done, (NotificationDelivered(**values),))  # validated
        # One per e-mail sent: the values are this (validated) notification's and a datetime,
        # so validation would only copy them (``tests/unit/test_notify_flat_docs.py``).
        return Changed(done, (as_validated(NotificationDelivered, values, set(values)),))

    def failed(
        self,
        error: str,
        at: datetime,
        policy: DeliveryRetries,
        *,
        permanent: bool = False,
        target: str | None = None,
    ) -> Changed[Notification]:
        """An attempt failed: retried later with backoff, or dead once the attempts are spent.
        A ``permanent`` failure (e.g. an address no server can take) is dead at once."""
        if permanent or self.attempts + 1 >= policy.max_attempts:
            return self.dead(error, at, target=target)
        attempts = self.attempts + 1
        retry_at = at + timedelta(seconds=policy.delay(attempts))
        update = {"attempts": attempts, "last_error": error, "next_attempt_at": retry_at}
        return Changed(self.model_copy(update={**update, "target": target or self.target}))

    def dead(self, error: str, at: datetime, *, target: str | None = None) -> Changed[Notification]:
        """This attempt failed too and no other will be made until an operator redrives it."""
        parked = self.model_copy(
            update={
                "status": "dead",
                "attempts": self.attempts + 1,
                "last_error": error,
                "next_attempt_at": None,
                "target": target or self.target,
            }
        )
        return Changed(
            parked, (NotificationDead(**parked._outcome(), last_error=error, dead_at=at),)
        )

    def redriven(self, at: datetime, field: str = "id") -> Changed[Notification]:
        """A dead notification back in the queue, with a fresh set of attempts (``field``:
        where the request named it)."""
        if self.status != "dead":
            raise InvalidInput(
                f"notification {self.id} is {self.status}, not dead", field=field, rule="not_dead"
            )
        update = {"status": "pending", "attempts": 0, "next_attempt_at": at}
        return Changed(self.model_copy(update={**update, "redrives": self.redrives + 1}))

    def marked_read(self) -> Notification:
        return self.model_copy(update={"read": True})

    @property
    def ledger_status(self) -> LedgerStatus:
        """How the ledger records the attempt that led here."""
        return "failed" if self.status == "pending" else self.status

    def _outcome(self) -> dict[str, object]:
        return {
            "notification_id": self.id,
            "source_event_id": self.event_id,
            "source_event_type": self.event_type,
            "recipient": self.recipient,
            "channel": self.channel,
            "attempts": self.attempts,
        }


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Every field in order, with its default (a required one's value always comes with the
    values, which keep this order when they update it)."""
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            raise TypeError(f"{model.__name__}.{name}: a default factory is not copied here")
        found[name] = None if field.is_required() else field.default
    return found


_NOTIFICATION_DEFAULTS = _defaults(Notification)
_LEDGER_STATUSES = frozenset(typing.get_args(LedgerStatus))
_CHANNELS = frozenset(typing.get_args(Channel))


class Delivery(Versioned):
    """One line of the delivery ledger: an attempt (or a redrive) of a notification."""

    model_config = ConfigDict(frozen=True)

    id: str
    notification_id: str
    event_id: str
    recipient: str
    channel: Channel
    target: str | None
    attempt: int
    status: LedgerStatus
    error: str | None = None
    at: datetime

    @classmethod
    def of(
        cls,
        n: Notification,
        status: LedgerStatus,
        error: str | None,
        at: datetime,
        *,
        key: str = "",
    ) -> Delivery:
        values = {
            "id": f"{n.id}|{key or uuid.uuid4()}",
            "notification_id": n.id,
            "event_id": n.event_id,
            "recipient": n.recipient,
            "channel": n.channel,
            "target": mask_target(n.channel, n.target),
            "attempt": n.attempts,
            "status": status,
            "error": error,
            "at": at,
        }
        if not (
            type(n) is Notification
            and type(at) is datetime
            and status in _LEDGER_STATUSES
            and (error is None or type(error) is str)
        ):
            return cls(**values)  # anything else is validated
        # The dispatcher writes one per e-mail: the values are a validated notification's,
        # the unit of work's time and a ledger status, so validating would only copy them
        # (``tests/unit/test_notify_flat_docs.py`` compares with validation).
        return as_validated(cls, {"version": 0, **values}, set(values))

    @classmethod
    def in_app(cls, n: Notification) -> Delivery:
        """An in-app message's one attempt: the write that delivered it (never stored)."""
        return cls.of(n, "delivered", None, n.delivered_at or n.created_at, key="1")


# --- personal data --------------------------------------------------------------------------


def mask_target(channel: Channel, target: str | None) -> str | None:
    """What a ledger reader may see of an address: e-mail addresses are personal data; a
    webhook URL's credentials (user info, query values) are its subscriber's secrets."""
    if target is None or channel not in ("email", "webhook"):
        return target
    if channel == "webhook":
        from services.notify.domain.webhooks import mask_url  # webhooks imports this module

        return mask_url(target)
    return privacy.mask_email(target)


def mask_nik(value: str | None) -> str:
    return privacy.mask_nik(value or "")


def mask_phone(value: str | None) -> str:
    return privacy.mask_phone(value or "")


def mask_email(value: str | None) -> str:
    return privacy.mask_email(value or "")
