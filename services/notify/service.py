"""Notify use cases.

Deciding and sending are separate. ``notify_about`` runs in the consumer's unit of
work and writes one notification per (event, recipient, channel), with that
dedup key as its id, in bulk; inbox notifications are delivered right there.
``dispatch_due`` (the dispatcher's background loop) sends pending e-mails and
webhooks, records every attempt in the ledger, schedules retries with backoff
and jitter, and parks notifications that exhausted their attempts as dead.
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from contracts.base import Event
from contracts.catalog import EVENTS_BY_NAME
from contracts.envelope import EnvelopeAttributes
from contracts.notify import Channel, NotificationDead, NotificationDelivered
from ikmkit.audit.masking import mask_payload
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.errors import Forbidden, NotFound
from ikmkit.store import Page, Store, Transaction
from ikmkit.store.retry import retry_on_conflict
from services.notify import domain, rules
from services.notify.domain import (
    Contact,
    Language,
    Notification,
    RetryPolicy,
    Subscription,
    SubscriptionRequest,
)
from services.notify.senders import UndeliverableAddress
from services.notify.store import (
    ContactRepository,
    DeliveryLedger,
    NotificationRepository,
    SubscriptionRepository,
)
from services.notify.templates import Rendered, Renderer


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _retrying[T](unit: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    """Run a unit of work again when it lost a race (MongoDB write conflicts)."""
    return await retry_on_conflict(unit, max_attempts=attempts, base_delay=0.005)


# --- deciding -------------------------------------------------------------------------------


class SubscriptionCache:
    """Active webhook subscriptions, re-read at most every ``ttl`` seconds (and on change)."""

    def __init__(self, ttl: float = 2.0) -> None:
        self._ttl = ttl
        self._subscriptions: list[Subscription] = []
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def matching(
        self, uow: Transaction, event_name: str, province: str | None
    ) -> list[Subscription]:
        if time.monotonic() - self._loaded_at > self._ttl:
            self._subscriptions = await SubscriptionRepository(uow).active()
            self._loaded_at = time.monotonic()
        return [s for s in self._subscriptions if s.wants(event_name, province)]


@dataclass
class Deciding:
    """What the consumer needs to turn an event into notifications."""

    renderer: Renderer
    subscriptions: SubscriptionCache
    directory: dict[str, Contact] = field(default_factory=dict)
    """Configured contacts (regional offices' and the ministry's e-mail addresses)."""
    on_pending: Callable[[], None] = lambda: None


_REPLICATED = ("enterprise", "partner", "participant")


def _may_email(recipient: str, contact: Contact | None) -> bool:
    """E-mail whoever has an address; replicated recipients also before their contact arrives
    (events of different topics are unordered: the address is resolved again when sending)."""
    if contact is not None:
        return contact.email is not None
    return domain.recipient_kind(recipient) in _REPLICATED


def _greeting_name(recipient: str, contact: Contact | None, language: Language) -> str:
    if contact is not None:
        return contact.name
    kind, _, key = recipient.partition(":")
    if kind == "regional":
        return f"Disperindag Provinsi {key}" if language == "id" else f"Disperindag, province {key}"
    if kind == domain.MINISTRY:
        return "Ditjen IKMA"
    return "Bapak/Ibu" if language == "id" else "Sir or Madam"


Item = tuple[Event, EnvelopeAttributes]


async def notify_about(
    event: Event, meta: EnvelopeAttributes, uow: Transaction, deps: Deciding
) -> list[Notification]:
    """One event (the consumer's one-by-one fallback): a batch of one."""
    return await notify_about_batch([(event, meta)], uow, deps)


async def notify_about_batch(
    items: Sequence[Item], uow: Transaction, deps: Deciding
) -> list[Notification]:
    """Write every notification the rule table and the webhook subscriptions ask for.

    The whole batch costs one contact read, one bulk insert of notifications and one of
    ledger rows. Nothing is rendered here: e-mails are rendered by the dispatcher when
    sent and inbox messages when read, from the event data stored with them.
    """
    now = utcnow().isoformat()
    learned = [rules.contacts_in(event) for event, _ in items]
    pairs = [rules.deliveries_for(event) for event, _ in items]
    wanted = {c.recipient for found in learned for c in found}
    wanted.update(r for found in pairs for r, _ in found if r not in deps.directory)
    contacts_repo = ContactRepository(uow)
    stored = await contacts_repo.get_many_versioned(sorted(wanted))
    # Events are decided in order: each sees the contacts learned from the events before it.
    contacts: dict[str, Contact] = {**deps.directory, **{k: c for k, (c, _) in stored.items()}}
    changed: dict[str, Contact] = {}
    notifications: list[Notification] = []
    for (event, meta), found, event_pairs in zip(items, learned, pairs, strict=True):
        for contact in found:
            if contacts.get(contact.recipient) != contact:
                contacts[contact.recipient] = changed[contact.recipient] = contact
        data = event.model_dump_json()
        notifications += _rule_notifications(event, meta, event_pairs, contacts, data, now)
        notifications += await _webhook_notifications(event, meta, uow, deps, now)
    await contacts_repo.save_all(
        list(changed.values()), {k: version for k, (_, version) in stored.items()}
    )
    # An inbox message is delivered by this very write: the notification is its ledger entry
    # (``deliveries_of`` reports it as an attempt), so no ledger row is written for it.
    await NotificationRepository(uow).add_all(notifications)
    if any(n.channel != "inbox" for n in notifications):
        deps.on_pending()
    return notifications


def _rule_notifications(
    event: Event,
    meta: EnvelopeAttributes,
    pairs: list[tuple[str, Channel]],
    contacts: dict[str, Contact],
    data: str,
    now: str,
) -> list[Notification]:
    if not pairs:
        return []
    subject = rules.data_subject(event)
    event_type = type(event).__name__
    made: list[Notification] = []
    for recipient, channel in pairs:
        contact = contacts.get(recipient)
        if channel == "email" and not _may_email(recipient, contact):
            continue
        inbox = channel == "inbox"
        made.append(
            Notification(
                id=domain.notification_id(meta.id, recipient, channel),
                event_id=meta.id,
                event_type=event_type,
                recipient=recipient,
                channel=channel,
                province=meta.region,
                language=contact.language if contact else "id",
                target=recipient if inbox else (contact.email if contact else None),
                data=data,
                is_subject=recipient == subject,
                status="delivered" if inbox else "pending",
                attempts=1 if inbox else 0,
                delivered_at=now if inbox else None,
                next_attempt_at=None if inbox else now,
                created_at=now,
            )
        )
    return made


async def _webhook_notifications(
    event: Event,
    meta: EnvelopeAttributes,
    uow: Transaction,
    deps: Deciding,
    now: str,
) -> list[Notification]:
    name = type(event).__name__
    subscribers = await deps.subscriptions.matching(uow, name, meta.region)
    if not subscribers:
        return []
    # Subscribers are systems, not the data subjects: contract-marked personal data is masked.
    cloudevent = domain.structured_cloudevent(
        meta.model_dump(mode="json"), mask_payload(type(event), event.model_dump(mode="json"))
    )
    body = json.dumps(cloudevent, separators=(",", ":"), ensure_ascii=False)
    return [
        Notification(
            id=domain.notification_id(meta.id, domain.subscription_recipient(sub.id), "webhook"),
            event_id=meta.id,
            event_type=name,
            recipient=domain.subscription_recipient(sub.id),
            channel="webhook",
            province=meta.region,
            target=sub.url,
            subject=name,
            body=body,
            subscription_id=sub.id,
            next_attempt_at=now,
            created_at=now,
        )
        for sub in subscribers
    ]


def rendered(notification: Notification, renderer: Renderer, name: str) -> Rendered:
    """An e-mail's or inbox message's subject and text, rendered from the stored event data."""
    if notification.data is None:  # nothing to render from: the stored text is the message
        return Rendered(subject=notification.subject, body=notification.body)
    event = EVENTS_BY_NAME[notification.event_type].model_validate_json(notification.data)
    return renderer.render(
        notification.event_type,
        notification.channel,
        notification.language,
        {
            "event": event,
            "event_id": notification.event_id,
            "name": name,
            "is_subject": notification.is_subject,
        },
    )


# --- sending --------------------------------------------------------------------------------


class EmailSender(Protocol):
    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None: ...


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """Raise unless the receiver answered 2xx."""
        ...


@dataclass
class Dispatching:
    email: EmailSender
    webhooks: WebhookSender
    outbox: Outbox
    renderer: Renderer
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 500
    concurrency: int = 16


@dataclass
class _Attempt:
    before: Notification
    version: int
    after: Notification
    error: str | None


async def dispatch_due(store: Store, deps: Dispatching) -> int:
    """Send one batch of due e-mails and webhooks; returns how many were attempted."""
    async with store.transaction() as uow:
        due = await NotificationRepository(uow).due(utcnow(), deps.batch_size)
        if not due:
            return 0
        subscriptions = await SubscriptionRepository(uow).get_many(
            [n.subscription_id for n, _ in due if n.subscription_id]
        )
        # Addresses and names as they are now (a contact may have arrived or changed since).
        contacts = await ContactRepository(uow).get_many(
            list({n.recipient for n, _ in due if n.channel == "email"})
        )
    gate = asyncio.Semaphore(deps.concurrency)

    async def attempt(notification: Notification, version: int) -> _Attempt:
        async with gate:
            resolved, error, permanent = await _send(notification, deps, subscriptions, contacts)
        after = domain.after_attempt(
            resolved, error=error, now=utcnow(), policy=deps.policy, permanent=permanent
        )
        return _Attempt(notification, version, after, error)

    attempts = await asyncio.gather(*(attempt(n, v) for n, v in due))
    await _record(store, deps.outbox, attempts)
    return len(attempts)


async def _send(
    notification: Notification,
    deps: Dispatching,
    subscriptions: dict[str, Subscription],
    contacts: dict[str, Contact],
) -> tuple[Notification, str | None, bool]:
    """The notification (target resolved), the error (None when delivered) and whether
    the failure is permanent."""
    try:
        if notification.channel == "email":
            contact = contacts.get(notification.recipient)
            target = notification.target or (contact.email if contact else None)
            if target is None:
                error = f"no e-mail address known for {notification.recipient}"
                return notification, error, False
            notification = notification.model_copy(update={"target": target})
            name = _greeting_name(notification.recipient, contact, notification.language)
            message = rendered(notification, deps.renderer, name)
            await deps.email.send(
                to=target, subject=message.subject, body=message.body, message_id=notification.id
            )
        else:
            subscription = subscriptions.get(notification.subscription_id or "")
            if subscription is None or not subscription.active:
                return notification, "subscription deleted", False
            body = notification.body.encode()
            timestamp = str(int(time.time()))
            await deps.webhooks.post(
                subscription.url,
                body,
                {
                    "Content-Type": "application/cloudevents+json",
                    domain.TIMESTAMP_HEADER: timestamp,
                    domain.SIGNATURE_HEADER: domain.webhook_signature(
                        subscription.secret, timestamp, body
                    ),
                    "X-IKM-Delivery-Id": notification.id,
                },
            )
    except UndeliverableAddress as exc:
        return notification, f"undeliverable address: {exc}", True
    except Exception as exc:
        return notification, "".join(traceback.format_exception_only(exc)).strip()[:1000], False
    return notification, None, False


async def _record(store: Store, outbox: Outbox, attempts: Sequence[_Attempt]) -> None:
    """Store the outcomes; retried on conflicts, since losing them would send again."""
    at = utcnow()
    await _retrying(lambda: _record_once(store, outbox, attempts, at))


async def _record_once(
    store: Store, outbox: Outbox, attempts: Sequence[_Attempt], at: datetime
) -> None:
    stamp = at.isoformat()
    async with store.transaction() as uow:
        repo = NotificationRepository(uow)
        # Plain successes are written in bulk; retries, deaths and resolved targets one by one.
        by_attempts: dict[int, list[str]] = {}
        for a in attempts:
            if a.error is None and a.after.target == a.before.target:
                by_attempts.setdefault(a.after.attempts, []).append(a.after.id)
            else:
                await repo.save(a.after, a.version)
        for count, ids in by_attempts.items():
            await repo.mark_delivered(ids, attempts=count, at=stamp)
        await DeliveryLedger(uow).record(
            [(a.after, _ledger_status(a.after), a.error) for a in attempts], at=stamp
        )
        for a in attempts:
            if a.after.status != "pending":
                await outbox.add(uow, _outcome_event(a.after, at))


def _ledger_status(notification: Notification) -> str:
    return {"delivered": "delivered", "dead": "dead"}.get(notification.status, "failed")


def _outcome_event(n: Notification, at: datetime) -> Event:
    common: dict[str, Any] = {
        "notification_id": n.id,
        "source_event_id": n.event_id,
        "source_event_type": n.event_type,
        "recipient": n.recipient,
        "channel": n.channel,
        "attempts": n.attempts,
    }
    if n.status == "delivered":
        return NotificationDelivered(**common, delivered_at=at)
    return NotificationDead(**common, last_error=n.last_error or "", dead_at=at)


# --- dead notifications ---------------------------------------------------------------------


async def dead_notifications(store: Store, *, limit: int, cursor: str | None) -> Page:
    async def read() -> Page:
        async with store.transaction() as uow:
            return await NotificationRepository(uow).dead(limit, cursor)

    return await _retrying(read)


async def redrive(store: Store, ids: Sequence[str], *, by: str) -> list[str]:
    """Put dead notifications back in the queue; each redrive is recorded in the ledger."""
    return await _retrying(lambda: _redrive_once(store, ids, by=by))


async def _redrive_once(store: Store, ids: Sequence[str], *, by: str) -> list[str]:
    now = utcnow()
    async with store.transaction() as uow:
        repo = NotificationRepository(uow)
        redriven: list[Notification] = []
        for notification_id in ids:
            found = await repo.get_versioned(notification_id)
            if found is None:
                raise NotFound(f"no notification {notification_id}", field="id")
            notification, version = found
            again = domain.redriven(notification, now)
            await repo.save(again, version)
            redriven.append(again)
        await DeliveryLedger(uow).record(
            [(n, "redriven", f"redriven by {by}") for n in redriven], at=now.isoformat()
        )
    return [n.id for n in redriven]


async def redrive_all(store: Store, *, by: str) -> list[str]:
    done: list[str] = []
    while True:
        page = await dead_notifications(store, limit=500, cursor=None)
        if not page.items:
            return done
        done += await redrive(store, [d["id"] for d in page.items], by=by)


def _inbox_attempt(n: Notification) -> dict[str, Any]:
    """The ledger entry of an inbox message: its one attempt is the write that delivered it."""
    return {
        "id": f"{n.id}|1",
        "notification_id": n.id,
        "event_id": n.event_id,
        "recipient": n.recipient,
        "channel": n.channel,
        "target": n.target,
        "attempt": 1,
        "status": "delivered",
        "error": None,
        "at": n.delivered_at or n.created_at,
    }


# --- inbox, subscriptions, ledger -----------------------------------------------------------


async def inbox_of(
    recipient: str, store: Store, renderer: Renderer, *, cursor: str | None, limit: int
) -> tuple[list[tuple[Notification, Rendered]], str | None]:
    """A page of the recipient's inbox messages, rendered, and the cursor of the next page."""

    async def read() -> Page:
        async with store.transaction() as uow:
            return await NotificationRepository(uow).inbox(recipient, limit=limit, cursor=cursor)

    page = await _retrying(read)
    messages = [Notification.model_validate(doc) for doc in page.items]
    return [(n, rendered(n, renderer, "")) for n in messages], page.next_cursor


async def unread_count(recipient: str, store: Store) -> int:
    async def read() -> int:
        async with store.transaction() as uow:
            return await NotificationRepository(uow).unread(recipient)

    return await _retrying(read)


async def mark_read(notification_id: str, store: Store, *, may_read: Callable[[str], bool]) -> None:
    await _retrying(lambda: _mark_read_once(notification_id, store, may_read))


async def _mark_read_once(
    notification_id: str, store: Store, may_read: Callable[[str], bool]
) -> None:
    async with store.transaction() as uow:
        repo = NotificationRepository(uow)
        notification = await repo.get(notification_id)
        if notification is None or notification.channel != "inbox":
            raise NotFound(f"no inbox message {notification_id}", field="id")
        if not may_read(notification.recipient):
            raise Forbidden(f"inbox message {notification_id} is not yours")
        await repo.mark_read(notification_id)


async def subscribe(
    request: SubscriptionRequest, store: Store, cache: SubscriptionCache
) -> Subscription:
    domain.check_subscription(request, set(EVENTS_BY_NAME))
    subscription = Subscription(
        id=str(uuid.uuid4()),
        url=str(request.url),
        event_types=request.event_types,
        province=request.province,
        secret=request.secret,
        description=request.description,
        created_at=utcnow().isoformat(),
    )
    async with store.transaction() as uow:
        await SubscriptionRepository(uow).add(subscription)
    cache.invalidate()
    return subscription


async def subscriptions(store: Store) -> list[Subscription]:
    async def read() -> list[Subscription]:
        async with store.transaction() as uow:
            return await SubscriptionRepository(uow).active()

    return await _retrying(read)


async def unsubscribe(subscription_id: str, store: Store, cache: SubscriptionCache) -> None:
    async with store.transaction() as uow:
        if not await SubscriptionRepository(uow).deactivate(subscription_id):
            raise NotFound(f"no subscription {subscription_id}", field="id")
    cache.invalidate()


async def deliveries_of(event_id: str, store: Store) -> dict[str, Any]:
    """Answers "was everyone told?": every notification of the event and every attempt."""

    async def read() -> tuple[list[Notification], list[dict[str, Any]]]:
        async with store.transaction() as uow:
            found = await NotificationRepository(uow).of_event(event_id)
            return found, await DeliveryLedger(uow).of_event(event_id)

    notifications, recorded = await _retrying(read)
    attempts = sorted(
        recorded + [_inbox_attempt(n) for n in notifications if n.channel == "inbox"],
        key=lambda a: str(a["at"]),
    )
    delivered = sum(1 for n in notifications if n.status == "delivered")
    dead = sum(1 for n in notifications if n.status == "dead")
    total = len(notifications)
    return {
        "event_id": event_id,
        "total": total,
        "delivered": delivered,
        "pending": total - delivered - dead,
        "dead": dead,
        "all_delivered": total > 0 and delivered == total,
        "summary": f"delivered to {delivered} of {total} recipients/subscribers",
        "notifications": [
            {
                "id": n.id,
                "recipient": n.recipient,
                "channel": n.channel,
                "target": domain.mask_target(n.channel, n.target),
                "status": n.status,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "delivered_at": n.delivered_at,
            }
            for n in notifications
        ],
        "attempts": attempts,
    }
