"""Who may do what in notify: read in-app messages, manage webhook subscriptions, read the
delivery ledger and redrive dead notifications."""

from __future__ import annotations

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden
from services.notify.domain.model import Notification
from services.notify.domain.webhooks import Subscription


def can_read_messages(caller: Caller, recipient: str) -> bool:
    """Ministry and services read anyone's in-app messages; everyone else only their own."""
    if caller.role in ("ministry", "service"):
        return True
    kind, _, key = recipient.partition(":")
    return (
        (caller.role == "regional" and kind == "regional" and key == caller.province)
        or (caller.role == "enterprise" and kind == "enterprise" and key == caller.nib)
        or (caller.role == "partner" and kind == "partner" and key == caller.partner_id)
    )


def authorize_read_messages(caller: Caller, recipient: str) -> None:
    if not can_read_messages(caller, recipient):
        raise Forbidden(f"role {caller.role!r} may not read the inbox of {recipient}")


def authorize_mark_read(caller: Caller, message: Notification) -> None:
    if not can_read_messages(caller, message.recipient):
        raise Forbidden(f"inbox message {message.id} is not yours")


def authorize_subscribe(caller: Caller, province: str | None) -> None:
    caller.require("ministry", "regional", "service")
    if caller.role == "regional" and province != caller.province:
        raise Forbidden("a regional officer may subscribe only to their own province's events")


def authorize_list_subscriptions(caller: Caller) -> None:
    caller.require("ministry", "regional", "service")


def can_see_subscription(caller: Caller, subscription: Subscription) -> bool:
    return caller.sees_province(subscription.province)


def authorize_unsubscribe(caller: Caller) -> None:
    caller.require("ministry", "service")


def authorize_operate(caller: Caller) -> None:
    """The delivery ledger and dead notifications: the ministry's desk and systems."""
    caller.require("ministry", "service")
