"""Notify use cases."""

from __future__ import annotations

from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered
from ikmkit.store import Page, Store, UnitOfWork

from services.notify import domain
from services.notify.store import INBOX_MESSAGES


async def notify_registration(
    event: EnterpriseRegistered, meta: EnvelopeAttributes, uow: UnitOfWork
) -> None:
    for recipient in domain.recipients_of_registration(event):
        title, body = domain.registration_message(event, recipient)
        message = domain.InboxMessage(
            id=f"{meta.id}|{recipient}|inbox",
            recipient=recipient,
            event_id=meta.id,
            event_type=meta.type,
            title=title,
            body=body,
            created_at=meta.time.isoformat(),
        )
        await uow.insert(INBOX_MESSAGES, message.model_dump())


async def inbox_of(recipient: str, store: Store, *, cursor: str | None, limit: int) -> Page:
    async with store.transaction() as uow:
        return await uow.find(
            INBOX_MESSAGES,
            {"recipient": recipient},
            order_by=[("created_at", -1)],
            limit=limit,
            cursor=cursor,
        )
