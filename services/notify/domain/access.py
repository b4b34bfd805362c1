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


def can_mark_read(caller: Caller, message: Notification) -> bool:
    """Every role marks its own messages, so another reader's message is answered as a
    missing one (404), never 403: whether it exists does not leak (the registry's rule)."""
    return can_read_messages(caller, message.recipient)


def authorize_subscribe(caller: Caller, province: str | None) -> None:
    caller.require("ministry", "regional", "service")
    if caller.role == "regional" and province != caller.province:
        raise Forbidden("a regional officer may subscribe only to their own province's events")


def authorize_list_subscriptions(caller: Caller) -> None:
    caller.require("ministry", "regional", "service")


def can_see_subscription(caller: Caller, subscription: Subscription) -> bool:
    return caller.sees_province(subscription.province)


def visible_subscriptions(caller: Caller) -> dict[str, str]:
    """The listing's filter: a regional officer's province's subscriptions only (national
    ones, province None, included for the ministry and services)."""
    return {"province": caller.province or ""} if caller.role == "regional" else {}


def authorize_unsubscribe(caller: Caller) -> None:
    """Who may stop subscriptions at all (403 before any look-up); a regional officer stops
    only those they can see, their province's (another is answered as missing, 404)."""
    caller.require("ministry", "regional", "service")


def authorize_operate(caller: Caller) -> None:
    """The delivery ledger and dead notifications: the ministry's desk and systems."""
    caller.require("ministry", "service")
