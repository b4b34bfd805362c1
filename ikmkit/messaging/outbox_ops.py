"""Operator endpoints of every service's outbox (``/ops/outbox``, ministry role).

- ``GET  /ops/outbox``: backlog, parked events, the relay's last log check;
- ``GET  /ops/outbox/parked``: events the broker refuses, with their reasons;
- ``POST /ops/outbox/parked/{id}/retry``: publish one now (``force``: past the
  service's own size check) and release the events held behind it;
- ``POST /ops/outbox/republish``: publish a topic (or some partitions) again
  from the outbox, e.g. after a topic was deleted or a broker lost its data;
- ``POST /ops/outbox/verify``: check the log now (what the relay does periodically).

``ikm outbox ...`` is the command-line client of these endpoints.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from ikmkit.auth import CurrentCaller
from ikmkit.messaging.outbox import OUTBOX, outbox_backlog
from ikmkit.messaging.outbox_log import LogCheck, republish
from ikmkit.messaging.outbox_parking import NotParked, list_parked, parked_count, retry_parked
from ikmkit.messaging.outbox_views import (
    LogCheckView,
    OutboxStatus,
    ParkedEvents,
    Republishing,
    RetriedEvent,
)
from ikmkit.service.errors import AppError, Conflict, NotFound

if TYPE_CHECKING:
    from ikmkit.service.runtime import Runtime

__all__ = ["ops_router", "parked_count"]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


router = APIRouter(prefix="/ops/outbox", tags=["operations"])
log = logging.getLogger("ikmkit.messaging.outbox")
TOPIC_PATTERN = r"^[A-Za-z0-9._-]+$"  # the characters Kafka allows in a topic name
PartitionNumber = Annotated[int, Field(ge=0, le=100_000)]


class BrokerUnavailable(AppError):
    status_code = 503
    error_type = "unavailable"


def ops_router() -> APIRouter:
    return router


@router.get(
    "",
    operation_id="outbox_status",
    summary="Outbox state: backlog, parked events, last log check",
    response_model=OutboxStatus,
)
async def status(request: Request, caller: CurrentCaller) -> dict[str, Any]:
    caller.require("ministry")
    runtime = _runtime(request)
    backlog = await outbox_backlog(runtime.store)
    check = runtime.relay.last_check
    return {
        "service": runtime.name,
        "pending": backlog.pending,
        "oldest_pending_age_seconds": round(backlog.oldest_age_seconds, 3),
        "parked": await parked_count(runtime.store),
        "last_log_check": None if check is None else _check(check),
    }


@router.get(
    "/parked",
    operation_id="list_parked_events",
    summary="Events parked because the broker refuses them",
    response_model=ParkedEvents,
)
async def parked(
    request: Request,
    caller: CurrentCaller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    caller.require("ministry")
    return {"items": await list_parked(_runtime(request).store, limit=limit)}


@router.post(
    "/parked/{event_id}/retry",
    operation_id="retry_parked_event",
    summary="Publish a parked event now",
    response_model=RetriedEvent,
    responses={503: {"description": "The broker did not take the event; retry later"}},
)
async def retry(
    event_id: Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")],
    request: Request,
    caller: CurrentCaller,
    force: Annotated[bool, Query(description="Skip the service's own size check")] = False,
) -> dict[str, Any]:
    caller.require("ministry")
    runtime = _runtime(request)
    try:
        outcome = await retry_parked(runtime.store, runtime.publisher, event_id, force=force)
    except NotParked:
        raise NotFound(f"no parked event {event_id}") from None
    if outcome.refused:
        raise Conflict(f"event {event_id} is still refused: {outcome.reason}")
    if not outcome.published:
        raise BrokerUnavailable(f"event {event_id} not published, retry later: {outcome.reason}")
    runtime.relay.released(outcome.stream)
    return {
        "id": event_id,
        "published": True,
        "partition": outcome.partition,
        "offset": outcome.offset,
        "released": outcome.released,
    }


@router.post(
    "/republish",
    summary="Publish a topic's events again from the outbox",
    response_model=Republishing,
)
async def republish_topic(
    request: Request,
    caller: CurrentCaller,
    topic: Annotated[str, Query(min_length=1, max_length=249, pattern=TOPIC_PATTERN)],
    partition: Annotated[list[PartitionNumber] | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    caller.require("ministry")
    runtime = _runtime(request)
    async with runtime.store.transaction() as uow:
        # sent and pending apart: each is one of the outbox's (partial) indexes
        held = [await uow.count(OUTBOX, {"topic": topic, "sent": s}) for s in (True, False)]
        if not any(held):
            raise NotFound(f"this service's outbox holds no event of {topic}", field="topic")
    try:
        await runtime.relay.ensure_topics([topic])
    except Exception as exc:  # the relay recreates it once the broker answers
        log.warning("republish: topic %s not ensured now: %r", topic, exc)
    count = await republish(
        runtime.store, topic, partition, reason=f"requested by {caller.subject}"
    )
    runtime.relay.wake()
    return {"topic": topic, "partitions": partition, "republishing": count}


@router.post(
    "/verify",
    operation_id="verify_outbox",
    summary="Check now that the log holds what was published",
    response_model=LogCheckView,
    responses={503: {"description": "The log could not be read; retry later"}},
)
async def verify(request: Request, caller: CurrentCaller) -> dict[str, Any]:
    caller.require("ministry")
    try:
        return _check(await _runtime(request).relay.verify_log())
    except Exception as exc:
        raise BrokerUnavailable(f"the log could not be checked: {type(exc).__name__}") from exc


def _check(check: LogCheck) -> dict[str, Any]:
    return {
        "clean": check.clean,
        "missing_topics": sorted(check.missing_topics),
        "lost_partitions": [{"topic": t, "partition": p} for t, p in sorted(check.lost)],
    }
