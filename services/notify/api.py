"""Notify HTTP API: in-app messages (``/inbox``), webhook subscriptions, the delivery ledger,
dead notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel

from ikmkit.auth import CurrentCaller
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.idempotency import IDEMPOTENT_ROUTE, IdempotencyKey, idempotent
from ikmkit.service.limits import KEY_MAX, Cursor
from ikmkit.service.listing import Listing
from ikmkit.service.runtime import deps_of
from services.notify import handlers, queries
from services.notify.bootstrap import Notify
from services.notify.commands import Redrive, Subscribe
from services.notify.domain import access, rules, webhooks
from services.notify.domain.webhooks import Subscription
from services.notify.queries import (
    CreatedSubscription,
    DeadNotification,
    DeliveryReport,
    Messages,
    SubscriptionView,
    Unread,
    subscription_view,
)

router = APIRouter()


async def _notify(request: Request) -> Notify:
    return deps_of(request, Notify)


Deps = Annotated[Notify, Depends(_notify)]
Recipient = Annotated[
    str,
    Query(min_length=3, max_length=KEY_MAX, description="e.g. enterprise:<nib>, regional:34"),
]
PageSize = Annotated[int, Query(ge=1, le=500)]


@router.get("/inbox", tags=["inbox"], summary="A recipient's in-app messages, newest first")
async def messages(
    deps: Deps,
    caller: CurrentCaller,
    recipient: Recipient,
    cursor: Cursor | None = None,
    limit: PageSize = 50,
) -> Messages:
    return await deps.units.read(
        queries.messages_of, recipient, caller, deps.renderer, cursor=cursor, limit=limit
    )


@router.get("/inbox/unread", tags=["inbox"], summary="How many unread messages a recipient has")
async def unread(deps: Deps, caller: CurrentCaller, recipient: Recipient) -> Unread:
    return await deps.units.read(queries.unread_of, recipient, caller)


@router.post(
    "/inbox/{message_id}/read",
    tags=["inbox"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Mark an in-app message read",
)
async def mark_read(message_id: str, deps: Deps, caller: CurrentCaller) -> None:
    await deps.units.run(handlers.mark_read, message_id, caller)


_SUBSCRIBE = idempotent(handlers.subscribe, Subscription, "POST /subscriptions")


@router.post(
    "/subscriptions",
    tags=["webhooks"],
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to event types (Standard Webhooks signed POSTs; docs/notify.md)",
    openapi_extra=IDEMPOTENT_ROUTE,
)
async def subscribe(
    body: Subscribe, deps: Deps, caller: CurrentCaller, key: IdempotencyKey
) -> CreatedSubscription:
    """Each request is a new subscription: send an ``Idempotency-Key`` so that a retry answers
    the first one (docs/notify.md)."""
    access.authorize_subscribe(caller, body.province)  # before any look-up of the host
    found = Violations()
    try:
        await deps.guard.check(str(body.url))
    except InvalidInput as refused:
        found.found.append(refused)
    # The URL's refusal and the fields' together: one 422 names every broken rule.
    found.check(webhooks.check_subscription, body.event_types, body.secret, rules.SUBSCRIBABLE)
    found.raise_all()
    created = await deps.units.run(_SUBSCRIBE, key, body, caller)
    deps.subscriptions.invalidate()
    generated = created.secret if body.secret is None else None
    view = subscription_view(created, masked=False).model_dump()  # the creator's, once
    return CreatedSubscription(**view, generated_secret=generated)


@router.get("/subscriptions", tags=["webhooks"], summary="Active webhook subscriptions")
async def list_subscriptions(
    deps: Deps, caller: CurrentCaller, cursor: Cursor | None = None, limit: PageSize = 500
) -> Listing[SubscriptionView]:
    return await deps.units.read(queries.subscriptions, caller, cursor=cursor, limit=limit)


@router.delete(
    "/subscriptions/{subscription_id}",
    tags=["webhooks"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop a webhook subscription",
)
async def unsubscribe(subscription_id: str, deps: Deps, caller: CurrentCaller) -> None:
    await deps.units.run(handlers.unsubscribe, subscription_id, caller)
    deps.subscriptions.invalidate()


@router.get(
    "/deliveries",
    tags=["ledger"],
    summary="Every notification of an event and every attempt: was everyone told?",
)
async def deliveries(
    deps: Deps,
    caller: CurrentCaller,
    event_id: Annotated[str, Query(min_length=1, max_length=KEY_MAX)],
) -> DeliveryReport:
    return await deps.units.read(queries.deliveries_of, event_id, caller)


@router.get("/dead", tags=["dead notifications"], summary="Notifications that exhausted retries")
async def dead(
    deps: Deps, caller: CurrentCaller, cursor: Cursor | None = None, limit: PageSize = 100
) -> Listing[DeadNotification]:
    return await deps.units.read(queries.dead, caller, cursor=cursor, limit=limit)


class Redriven(BaseModel):
    redriven: list[str]
    count: int


@router.post("/dead/redrive", tags=["dead notifications"], summary="Send dead notifications again")
async def redrive(body: Redrive, deps: Deps, caller: CurrentCaller) -> Redriven:
    ids = await handlers.redrive_requested(deps.units, body, caller)
    deps.dispatcher.wake()
    return Redriven(redriven=ids, count=len(ids))
