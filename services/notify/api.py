"""Notify HTTP API: in-app inbox, webhook subscriptions, delivery ledger, dead notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from ikmkit.auth import Caller, CurrentCaller
from ikmkit.service.errors import Forbidden, InvalidInput
from ikmkit.service.limits import KEY_MAX, MAX_IDS, Cursor, Key
from ikmkit.service.runtime import RuntimeDep
from services.notify import domain, service
from services.notify.domain import SubscriptionRequest
from services.notify.wiring import components

router = APIRouter()
Recipient = Annotated[
    str,
    Query(min_length=3, max_length=KEY_MAX, description="e.g. enterprise:<nib>, regional:34"),
]


def _may_read(principal: Caller) -> Any:
    def check(recipient: str) -> bool:
        return domain.may_read_inbox(
            recipient,
            role=principal.role,
            province=principal.province,
            nib=principal.nib,
            partner_id=principal.partner_id,
        )

    return check


def _require_inbox(principal: Caller, recipient: str) -> None:
    if not _may_read(principal)(recipient):
        raise Forbidden(f"role {principal.role!r} may not read the inbox of {recipient}")


@router.get("/inbox", tags=["inbox"], summary="A recipient's in-app messages, newest first")
async def inbox(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    recipient: Recipient,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    _require_inbox(principal, recipient)
    renderer = components(runtime).deciding.renderer
    messages, next_cursor = await service.inbox_of(
        recipient, runtime.store, renderer, cursor=cursor, limit=limit
    )
    unread = await service.unread_count(recipient, runtime.store)
    items = [
        {
            "id": n.id,
            "event_id": n.event_id,
            "event_type": n.event_type,
            "title": text.subject,
            "body": text.body,
            "created_at": n.created_at,
            "read": n.read,
        }
        for n, text in messages
    ]
    return {"items": items, "next_cursor": next_cursor, "unread": unread}


@router.get("/inbox/unread", tags=["inbox"], summary="How many unread messages a recipient has")
async def unread(
    runtime: RuntimeDep, principal: CurrentCaller, recipient: Recipient
) -> dict[str, Any]:
    _require_inbox(principal, recipient)
    return {"recipient": recipient, "unread": await service.unread_count(recipient, runtime.store)}


@router.post(
    "/inbox/{message_id}/read",
    tags=["inbox"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Mark an inbox message read",
)
async def mark_read(message_id: str, runtime: RuntimeDep, principal: CurrentCaller) -> None:
    await service.mark_read(message_id, runtime.store, may_read=_may_read(principal))


@router.post(
    "/subscriptions",
    tags=["webhooks"],
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to event types (signed HMAC-SHA256 POSTs; see docs/notify.md)",
)
async def subscribe(
    body: SubscriptionRequest, runtime: RuntimeDep, principal: CurrentCaller
) -> dict[str, Any]:
    principal.require("ministry", "regional", "service")
    if principal.role == "regional" and body.province != principal.province:
        raise Forbidden("a regional officer may subscribe only to their own province's events")
    created = await service.subscribe(body, runtime.store, components(runtime).subscriptions)
    return created.public()


@router.get("/subscriptions", tags=["webhooks"], summary="Active webhook subscriptions")
async def list_subscriptions(runtime: RuntimeDep, principal: CurrentCaller) -> list[dict[str, Any]]:
    principal.require("ministry", "regional", "service")
    found = await service.subscriptions(runtime.store)
    return [s.public() for s in found if principal.sees_province(s.province)]


@router.delete(
    "/subscriptions/{subscription_id}",
    tags=["webhooks"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop a webhook subscription",
)
async def unsubscribe(subscription_id: str, runtime: RuntimeDep, principal: CurrentCaller) -> None:
    principal.require("ministry", "service")
    await service.unsubscribe(subscription_id, runtime.store, components(runtime).subscriptions)


@router.get(
    "/deliveries",
    tags=["ledger"],
    summary="Every notification of an event and every attempt: was everyone told?",
)
async def deliveries(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    event_id: Annotated[str, Query(min_length=1, max_length=KEY_MAX)],
) -> dict[str, Any]:
    principal.require("ministry", "service")
    return await service.deliveries_of(event_id, runtime.store)


@router.get("/dead", tags=["dead notifications"], summary="Notifications that exhausted retries")
async def dead(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    principal.require("ministry", "service")
    page = await service.dead_notifications(runtime.store, limit=limit, cursor=cursor)
    items = [
        {
            "id": n["id"],
            "event_id": n["event_id"],
            "event_type": n["event_type"],
            "recipient": n["recipient"],
            "channel": n["channel"],
            "attempts": n["attempts"],
            "last_error": n["last_error"],
            "redrives": n["redrives"],
            "created_at": n["created_at"],
        }
        for n in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor}


class RedriveRequest(BaseModel):
    ids: Annotated[list[Key], MAX_IDS] = []
    all: bool = False


@router.post("/dead/redrive", tags=["dead notifications"], summary="Send dead notifications again")
async def redrive(
    body: RedriveRequest, runtime: RuntimeDep, principal: CurrentCaller
) -> dict[str, Any]:
    principal.require("ministry", "service")
    if bool(body.ids) == body.all:
        raise InvalidInput("give either ids or all=true", field="ids", rule="ids_or_all")
    store = runtime.store
    if body.all:
        ids = await service.redrive_all(store, by=principal.subject)
    else:
        ids = await service.redrive(store, body.ids, by=principal.subject)
    components(runtime).dispatcher.wake()
    return {"redriven": ids, "count": len(ids)}
