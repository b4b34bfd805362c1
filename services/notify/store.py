"""Notify persistence: notifications (the inbox is the ``inbox`` channel), the delivery
ledger, webhook subscriptions and the contact replica."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ikmkit.store import CollectionSpec, Page, Range, Transaction
from services.notify.domain import Contact, Notification, Subscription, mask_target

NOTIFICATIONS = "notifications"
DELIVERIES = "deliveries"
SUBSCRIPTIONS = "subscriptions"
CONTACTS = "contacts"

COLLECTIONS = (
    CollectionSpec(
        NOTIFICATIONS,
        indexes=[
            ("recipient", "channel", "created_at"),
            ("status", "next_attempt_at"),
            ("event_id",),
        ],
    ),
    CollectionSpec(DELIVERIES, indexes=[("event_id", "at"), ("notification_id",)]),
    CollectionSpec(SUBSCRIPTIONS, indexes=[("active",)]),
    CollectionSpec(CONTACTS),
)


class NotificationRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def add_all(self, notifications: Sequence[Notification]) -> None:
        """Insert in bulk; the id is the dedup key, so a second copy is a DuplicateKey."""
        if notifications:
            # Every field is a plain value: pydantic's shallow ``dict(model)`` is the document,
            # without model_dump's per-field serializer walk (the consumer's hot path).
            await self._uow.insert_many(NOTIFICATIONS, [dict(n) for n in notifications])

    async def get(self, notification_id: str) -> Notification | None:
        doc = await self._uow.get(NOTIFICATIONS, notification_id)
        return None if doc is None else _notification(doc)

    async def get_versioned(self, notification_id: str) -> tuple[Notification, int] | None:
        doc = await self._uow.get(NOTIFICATIONS, notification_id)
        return None if doc is None else (_notification(doc), int(doc["version"]))

    async def due(self, now: datetime, limit: int) -> list[tuple[Notification, int]]:
        """Pending notifications whose next attempt is due, oldest first, with their versions."""
        page = await self._uow.find(
            NOTIFICATIONS,
            {"status": "pending", "next_attempt_at": Range(lt=now.isoformat())},
            order_by=[("next_attempt_at", 1)],
            limit=limit,
        )
        return [(_notification(d), int(d["version"])) for d in page.items]

    async def save(self, notification: Notification, version: int) -> None:
        await self._uow.replace(NOTIFICATIONS, {**notification.model_dump(), "version": version})

    async def mark_delivered(self, ids: Sequence[str], *, attempts: int, at: str) -> None:
        await self._uow.patch_many(
            NOTIFICATIONS,
            ids,
            {"status": "delivered", "attempts": attempts, "delivered_at": at, "last_error": None},
        )

    async def of_event(self, event_id: str) -> list[Notification]:
        return [_notification(d) for d in await self._all({"event_id": event_id})]

    async def dead(self, limit: int, cursor: str | None) -> Page:
        return await self._uow.find(
            NOTIFICATIONS,
            {"status": "dead"},
            order_by=[("created_at", 1)],
            limit=limit,
            cursor=cursor,
        )

    async def inbox(self, recipient: str, *, limit: int, cursor: str | None) -> Page:
        return await self._uow.find(
            NOTIFICATIONS,
            {"recipient": recipient, "channel": "inbox"},
            order_by=[("created_at", -1)],
            limit=limit,
            cursor=cursor,
        )

    async def unread(self, recipient: str) -> int:
        return await self._uow.count(
            NOTIFICATIONS, {"recipient": recipient, "channel": "inbox", "read": False}
        )

    async def mark_read(self, notification_id: str) -> None:
        await self._uow.patch_many(NOTIFICATIONS, [notification_id], {"read": True})

    async def _all(self, where: dict[str, Any]) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self._uow.find(NOTIFICATIONS, where, limit=500, cursor=cursor)
            docs += page.items
            cursor = page.next_cursor
            if cursor is None:
                return docs


def _notification(doc: dict[str, Any]) -> Notification:
    return Notification.model_validate(doc)


class DeliveryLedger:
    """Every attempt: time, channel, target (e-mail masked), status, error."""

    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def record(
        self, entries: Iterable[tuple[Notification, str, str | None]], *, at: str
    ) -> None:
        """``(notification, status, error)`` per attempt; status delivered|failed|dead|redriven."""
        rows = [
            {
                "id": str(uuid.uuid4()),
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
            for n, status, error in entries
        ]
        if rows:
            await self._uow.insert_many(DELIVERIES, rows)

    async def of_event(self, event_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        page = await self._uow.find(
            DELIVERIES, {"event_id": event_id}, order_by=[("at", 1)], limit=limit
        )
        return [{k: v for k, v in d.items() if k != "version"} for d in page.items]


class SubscriptionRepository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def add(self, subscription: Subscription) -> None:
        await self._uow.insert(SUBSCRIPTIONS, subscription.model_dump())

    async def active(self) -> list[Subscription]:
        page = await self._uow.find(SUBSCRIPTIONS, {"active": True}, limit=10_000)
        return [Subscription.model_validate(d) for d in page.items]

    async def get_many(self, ids: Sequence[str]) -> dict[str, Subscription]:
        found = await self._uow.get_many(SUBSCRIPTIONS, ids)
        return {k: Subscription.model_validate(v) for k, v in found.items()}

    async def deactivate(self, subscription_id: str) -> bool:
        return await self._uow.patch_many(SUBSCRIPTIONS, [subscription_id], {"active": False}) > 0


class ContactRepository:
    """The replica of contact details, keyed by recipient (``enterprise:<nib>`` ...)."""

    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    async def get_many(self, recipients: Sequence[str]) -> dict[str, Contact]:
        found = await self._uow.get_many(CONTACTS, list(recipients))
        return {k: Contact.model_validate(v) for k, v in found.items()}

    async def get_many_versioned(self, recipients: Sequence[str]) -> dict[str, tuple[Contact, int]]:
        found = await self._uow.get_many(CONTACTS, list(recipients))
        return {k: (Contact.model_validate(v), int(v["version"])) for k, v in found.items()}

    async def save_all(self, contacts: Sequence[Contact], versions: Mapping[str, int]) -> None:
        """Insert new contacts in bulk; replace known ones at the version they were read at."""
        fresh = []
        for contact in contacts:
            doc = {"id": contact.recipient, **contact.model_dump()}
            if contact.recipient in versions:
                await self._uow.replace(CONTACTS, {**doc, "version": versions[contact.recipient]})
            else:
                fresh.append(doc)
        if fresh:
            await self._uow.insert_many(CONTACTS, fresh)
