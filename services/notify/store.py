"""Notify persistence: notifications (in-app messages are those of the ``inbox`` channel), the
delivery ledger, webhook subscriptions and the contact replica, in one unit of work."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ikmkit.store import CollectionSpec, Columns, Range, Transaction
from ikmkit.store.repository import Repository
from ikmkit.store.times import stored_time
from ikmkit.unit_of_work import UnitOfWork
from services.notify.domain.model import IN_APP, Contact, Delivery, Notification
from services.notify.domain.webhooks import Subscription
from services.notify.flatdoc import FlatDocs

NOTIFICATIONS = "notifications"
DELIVERIES = "deliveries"
SUBSCRIPTIONS = "subscriptions"
CONTACTS = "contacts"
DISPATCH = "dispatch"
"""The dispatcher's lease: which replica's dispatcher sends (``ikmkit.lease``)."""

_NOTIFICATION_INDEXES = (
    ("recipient", "channel", "created_at"),
    ("status", "next_attempt_at"),
    # No index of event_id: a notification's id starts with its event's ("<event>|",
    # notification_id), so the primary key finds an event's (of_event); one index fewer
    # for every notification the consumer writes.
)

_DELIVERY_INDEXES = (("event_id", "at"), ("notification_id",))
# Compared and ordered as stored text: written in one fixed-width form (ikmkit.store.times).
_NOTIFICATION_TIMES = ("next_attempt_at", "created_at", "delivered_at")
_DELIVERY_TIMES = ("at",)

COLLECTIONS = (
    CollectionSpec(
        NOTIFICATIONS,
        indexes=_NOTIFICATION_INDEXES,
        columns=Columns(
            # What the dispatcher writes per outcome (an UPDATE of columns, not a rewrite of
            # the JSON document) and reads per due row; ``data`` is text (the event's JSON),
            # not a string escaped into the document and parsed back on every read.
            ("status", "next_attempt_at", "attempts", "delivered_at", "last_error", "data"),
            indexes=[(fields, {}) for fields in _NOTIFICATION_INDEXES],
        ),
        times=_NOTIFICATION_TIMES,
    ),
    CollectionSpec(
        DELIVERIES,
        indexes=_DELIVERY_INDEXES,
        # One row per e-mail sent: its indexes on columns, not on expressions of its JSON.
        columns=Columns(
            ("event_id", "at", "notification_id"),
            indexes=[(fields, {}) for fields in _DELIVERY_INDEXES],
        ),
        times=_DELIVERY_TIMES,
    ),
    CollectionSpec(SUBSCRIPTIONS, indexes=[("active",)]),
    CollectionSpec(CONTACTS),
    CollectionSpec(DISPATCH),
)


class NotificationRepository(Repository[Notification]):
    collection = NOTIFICATIONS
    model = Notification
    id_field = "id"
    what = "notification"
    times = _NOTIFICATION_TIMES
    _flat = FlatDocs(Notification, id_field)

    def _doc(self, item: Notification) -> dict[str, Any]:
        # The consumer writes three per event: the generic model_dump costs more than the rest
        # of building one (the same document, see FlatDocs).
        return self._flat.doc(item)

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending notifications whose next attempt is due, oldest first."""
        return (await self.due_page(now, limit))[0]

    async def due_page(
        self, now: datetime, limit: int, after: str | None = None
    ) -> tuple[list[Notification], str | None]:
        """``due``, from ``after`` (a cursor this returned: past the rows read then) on."""
        return await self.page(
            {"status": "pending", "next_attempt_at": Range(lt=stored_time(now))},
            order_by=[("next_attempt_at", 1)],
            limit=limit,
            cursor=after,
        )

    async def mark_delivered(self, ids: Sequence[str], *, attempts: int, at: datetime) -> None:
        """Plain successes in bulk (the dispatcher's hot path): nothing else changed in them."""
        await self.tx.patch_many(
            NOTIFICATIONS,
            ids,
            {
                "status": "delivered",
                "attempts": attempts,
                "delivered_at": stored_time(at),
                "last_error": None,
            },
        )

    async def of_event(self, event_id: str) -> list[Notification]:
        # Ids "<event_id>|..." sort between "<event_id>|" and "<event_id>}" ("}" follows "|");
        # the event_id condition keeps out an event whose id merely starts with "<event_id>|".
        where = {"id": Range(gte=f"{event_id}|", lt=f"{event_id}}}"), "event_id": event_id}
        found: list[Notification] = []
        cursor: str | None = None
        while True:
            page, cursor = await self.page(where, limit=500, cursor=cursor)
            found += page
            if cursor is None:
                return found

    async def dead(self, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]:
        return await self.page(
            {"status": "dead"}, order_by=[("created_at", 1)], limit=limit, cursor=cursor
        )

    async def messages(
        self, recipient: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]:
        """A recipient's in-app messages, newest first."""
        return await self.page(
            {"recipient": recipient, "channel": IN_APP},
            order_by=[("created_at", -1)],
            limit=limit,
            cursor=cursor,
        )

    async def unread(self, recipient: str) -> int:
        return await self.tx.count(
            NOTIFICATIONS, {"recipient": recipient, "channel": IN_APP, "read": False}
        )


class DeliveryRepository(Repository[Delivery]):
    """Every attempt: time, channel, target (e-mail masked), status, error."""

    collection = DELIVERIES
    model = Delivery
    id_field = "id"
    what = "delivery"
    times = _DELIVERY_TIMES
    _flat = FlatDocs(Delivery, id_field)

    def _doc(self, item: Delivery) -> dict[str, Any]:
        return self._flat.doc(item)  # one per e-mail sent (see FlatDocs)

    async def of_event(self, event_id: str, limit: int = 1000) -> list[Delivery]:
        found, _ = await self.page({"event_id": event_id}, order_by=[("at", 1)], limit=limit)
        return found


class SubscriptionRepository(Repository[Subscription]):
    collection = SUBSCRIPTIONS
    model = Subscription
    id_field = "id"
    what = "subscription"

    async def active(self) -> list[Subscription]:
        found, _ = await self.page({"active": True}, limit=10_000)
        return found


class ContactRepository(Repository[Contact]):
    """The replica of contact details, keyed by recipient (``enterprise:<nib>`` ...)."""

    collection = CONTACTS
    model = Contact
    id_field = "recipient"
    what = "contact"
    _flat = FlatDocs(Contact, id_field)

    def _doc(self, item: Contact) -> dict[str, Any]:
        return self._flat.doc(item)


class NotifyUnit(UnitOfWork):
    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.notifications = NotificationRepository(tx)
        self.ledger = DeliveryRepository(tx)
        self.subscriptions = SubscriptionRepository(tx)
        self.contacts = ContactRepository(tx)


class SubscriptionCache:
    """Active webhook subscriptions, re-read at most every ``ttl`` seconds (and on change):
    every consumed event is matched against them."""

    def __init__(self, ttl: float = 2.0) -> None:
        self._ttl = ttl
        self._subscriptions: list[Subscription] = []
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def matching(
        self, uow: NotifyUnit, event_name: str, province: str | None
    ) -> list[Subscription]:
        if time.monotonic() - self._loaded_at > self._ttl:
            self._subscriptions = await uow.subscriptions.active()
            self._loaded_at = time.monotonic()
        return [s for s in self._subscriptions if s.wants(event_name, province)]
