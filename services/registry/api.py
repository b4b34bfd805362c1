"""Registry HTTP API: translates requests into use-case calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from ikmkit.auth import CurrentPrincipal
from ikmkit.runtime import Runtime, runtime_of

from services.registry import service
from services.registry.domain import Enterprise

router = APIRouter(tags=["enterprises"])
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]


@router.post("/enterprises", status_code=status.HTTP_201_CREATED)
async def register_enterprise(
    body: service.RegisterEnterprise, runtime: RuntimeDep, principal: CurrentPrincipal
) -> Enterprise:
    principal.require("ministry", "regional")
    return await service.register_enterprise(body, runtime.store, runtime.outbox)


@router.get("/enterprises/{nib}")
async def get_enterprise(nib: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Enterprise:
    return await service.get_enterprise(nib, runtime.store)
