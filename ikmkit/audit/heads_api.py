"""``GET /audit/heads``: every service tells the auditor what its outbox published.

Read-only, for the ministry and for systems (role ``service``): per aggregate stream
the head sequence and hash, and how many of its last events are still unsent
(``ikmkit.audit.heads``). ``ikm audit replay`` compares them with the log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ikmkit.audit.heads import DEFAULT_HEADS_PAGE, MAX_HEADS_PAGE, read_heads
from ikmkit.auth import CurrentCaller

router = APIRouter(tags=["audit"])


class Head(BaseModel):
    topic: str
    aggregate: str
    sequence: int = Field(description="The last sequence number stamped in the outbox")
    hash: str = Field(description="Its chain hash")
    unsent: int = Field(description="How many of the stream's last events are not published")
    published: int = Field(description="The last sequence number published (sequence - unsent)")


class HeadsAnswer(BaseModel):
    service: str
    produces: list[str] = Field(description="The topics this service writes")
    items: list[Head]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last")


@router.get(
    "/audit/heads",
    summary="Outbox stream heads: what this service published",
    response_model=HeadsAnswer,
)
async def audit_heads(
    request: Request,
    caller: CurrentCaller,
    topic: Annotated[str | None, Query(max_length=249, description="Only this topic.")] = None,
    after: Annotated[
        str | None, Query(max_length=1000, description="The `next` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_HEADS_PAGE)] = DEFAULT_HEADS_PAGE,
) -> dict[str, Any]:
    """Per stream (`topic` + `aggregate`): head `sequence` and `hash`, `unsent` events,
    `published` = sequence - unsent. Keyset pages in stream-id order; `next` is null on
    the last page."""
    caller.require("ministry", "service")
    definition = request.app.state.definition
    page = await read_heads(request.app.state.runtime.store, topic=topic, after=after, limit=limit)
    return {
        "service": definition.name,
        "produces": list(definition.produces),
        "items": [head.as_json() for head in page.items],
        "next": page.next,
    }
