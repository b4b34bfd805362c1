"""Notify HTTP API: the in-app inbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from ikmkit.auth import CurrentPrincipal
from ikmkit.runtime import Runtime, runtime_of

from services.notify import service

router = APIRouter(tags=["inbox"])
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]


@router.get("/inbox")
async def inbox(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    recipient: Annotated[str, Query(min_length=3)],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    page = await service.inbox_of(recipient, runtime.store, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}
