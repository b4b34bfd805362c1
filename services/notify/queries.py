"""Notify's reads: in-app messages, the delivery ledger, dead notifications, subscriptions,
and the dispatcher's due work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from contracts.notify import Channel
from contracts.privacy import scrub_text
from contracts.values import ProvinceText
from ikmkit.auth import Caller
from ikmkit.service.listing import Listing
from services.notify.domain import access
from services.notify.domain.model import (
    IN_APP,
    Contact,
    Delivery,
    Notification,
    Status,
    mask_target,
)
from services.notify.domain.webhooks import Subscription, mask_url
from services.notify.store import NotifyUnit
from services.notify.templates import Renderer, rendered


class Message(BaseModel):
    """An in-app message as its reader sees it (rendered from the event when read)."""

    id: str
    event_id: str
    event_type: str
    title: str
    body: str
    created_at: datetime
    read: bool


class Messages(Listing[Message]):
    unread: int


class Unread(BaseModel):
    recipient: str
    unread: int


async def messages_of(
    uow: NotifyUnit,
    recipient: str,
    caller: Caller,
    renderer: Renderer,
    *,
    cursor: str | None,
    limit: int,
) -> Messages:
    """A page of the recipient's in-app messages, newest first, and how many are unread."""
    access.authorize_read_messages(caller, recipient)
    found, next_cursor = await uow.notifications.messages(recipient, limit=limit, cursor=cursor)
    # In the language the recipient has now, as the dispatcher writes their e-mails: the one
    # kept when it was decided may be the default, the recipient then unknown (a partner's
    # MoU decided before its PartnerRegistered), or one they have changed since.
    contact = (await uow.contacts.get_many([recipient])).get(recipient) if found else None
    language = contact.language if contact is not None else None
    items = []
    for n in found:
        text = rendered(n, renderer, "", language)
        items.append(
            Message(
                id=n.id,
                event_id=n.event_id,
                event_type=n.event_type,
                title=text.subject,
                body=text.body,
                created_at=n.created_at,
                read=n.read,
            )
        )
    unread = await uow.notifications.unread(recipient)
    return Messages(items=items, next_cursor=next_cursor, unread=unread)


async def unread_of(uow: NotifyUnit, recipient: str, caller: Caller) -> Unread:
    access.authorize_read_messages(caller, recipient)
    return Unread(recipient=recipient, unread=await uow.notifications.unread(recipient))


class DeadNotification(BaseModel):
    id: str
    event_id: str
    event_type: str
    recipient: str
    channel: Channel
    attempts: int
    last_error: str | None
    redrives: int
    created_at: datetime


async def dead(
    uow: NotifyUnit, caller: Caller, *, cursor: str | None, limit: int
) -> Listing[DeadNotification]:
    access.authorize_operate(caller)
    found, next_cursor = await uow.notifications.dead(limit, cursor)
    items = [
        DeadNotification.model_validate(n, from_attributes=True).model_copy(
            update={"last_error": _scrubbed(n.last_error)}
        )
        for n in found
    ]
    return Listing(items=items, next_cursor=next_cursor)


class NotificationState(BaseModel):
    id: str
    recipient: str
    channel: Channel
    target: str | None
    status: Status
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class DeliveryReport(BaseModel):
    """Answers "was everyone told?": every notification of the event and every attempt."""

    event_id: str
    total: int
    delivered: int
    pending: int
    dead: int
    all_delivered: bool
    summary: str
    notifications: list[NotificationState]
    attempts: list[Delivery]


async def deliveries_of(uow: NotifyUnit, event_id: str, caller: Caller) -> DeliveryReport:
    access.authorize_operate(caller)
    notifications = await uow.notifications.of_event(event_id)
    recorded = await uow.ledger.of_event(event_id)
    # Masked when read: lines written before webhook URLs were masked, and the errors.
    recorded = [_masked_line(line) for line in recorded]
    lines = recorded + [Delivery.in_app(n) for n in notifications if n.channel == IN_APP]
    lines.sort(key=lambda line: line.at)
    delivered = sum(1 for n in notifications if n.status == "delivered")
    dead = sum(1 for n in notifications if n.status == "dead")
    total = len(notifications)
    return DeliveryReport(
        event_id=event_id,
        total=total,
        delivered=delivered,
        pending=total - delivered - dead,
        dead=dead,
        all_delivered=total > 0 and delivered == total,
        summary=f"delivered to {delivered} of {total} recipients/subscribers",
        notifications=[_state(n) for n in notifications],
        attempts=lines,
    )


def _scrubbed(error: str | None) -> str | None:
    """A kept error as readers see it: the addresses and numbers a server quoted in it
    (``550 <siti@example.id>``) masked as the ledger masks its targets."""
    return None if error is None else scrub_text(error)


def _masked_line(line: Delivery) -> Delivery:
    masked = mask_target(line.channel, line.target)
    return line.model_copy(update={"target": masked, "error": _scrubbed(line.error)})


def _state(n: Notification) -> NotificationState:
    masked = n.model_copy(
        update={"target": mask_target(n.channel, n.target), "last_error": _scrubbed(n.last_error)}
    )
    return NotificationState.model_validate(masked, from_attributes=True)


class SubscriptionView(BaseModel):
    """A subscription without its secret."""

    id: str
    url: str
    event_types: list[str]
    province: ProvinceText | None
    description: str
    active: bool
    created_at: datetime


class CreatedSubscription(SubscriptionView):
    """``POST /subscriptions``'s answer: the secret only when notify generated it (shown
    this once)."""

    generated_secret: str | None = None


def subscription_view(subscription: Subscription, *, masked: bool = True) -> SubscriptionView:
    """A subscription as shown: its URL's credentials masked (``webhooks.mask_url``), but in
    the answer to the request that created it."""
    view = SubscriptionView.model_validate(subscription, from_attributes=True)
    return view.model_copy(update={"url": mask_url(view.url)}) if masked else view


async def subscriptions(
    uow: NotifyUnit, caller: Caller, *, cursor: str | None = None, limit: int = 500
) -> Listing[SubscriptionView]:
    """Active subscriptions in id order, a page at a time (a regional officer: their
    province's)."""
    access.authorize_list_subscriptions(caller)
    where = {"active": True, **access.visible_subscriptions(caller)}
    found, next_cursor = await uow.subscriptions.page(where, limit=limit, cursor=cursor)
    return Listing(items=[subscription_view(s) for s in found], next_cursor=next_cursor)


@dataclass(frozen=True)
class DueWork:
    """What the dispatcher needs for one pass: due notifications, their subscriptions, and
    the recipients' contacts as they are now (one may have arrived or changed since)."""

    notifications: list[Notification]
    subscriptions: dict[str, Subscription]
    contacts: dict[str, Contact]
    more: str | None = None  # where the due notifications not read yet begin, if any


async def due(uow: NotifyUnit, limit: int, after: str | None = None) -> DueWork:
    found, more = await uow.notifications.due_page(uow.now, limit, after)
    subscription_ids = [n.subscription_id for n in found if n.subscription_id]
    recipients = list({n.recipient for n in found if n.channel == "email"})
    return DueWork(
        found,
        await uow.subscriptions.get_many(subscription_ids) if subscription_ids else {},
        await uow.contacts.get_many(recipients) if recipients else {},
        more,
    )
