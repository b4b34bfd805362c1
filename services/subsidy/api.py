"""Subsidy HTTP API: translates requests into use-case calls."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from contracts.subsidy import ApplicationStatus, ProgramKind
from ikmkit.auth import Caller, CurrentCaller
from ikmkit.service.limits import CODE_MAX, Code, Cursor, FiscalYear
from ikmkit.service.runtime import Runtime, RuntimeDep
from services.subsidy import service
from services.subsidy.domain import Actor, Application, BudgetReport, Program, Stats
from services.subsidy.settings import SubsidySettings

router = APIRouter(tags=["subsidy"])


def _actor(principal: Caller) -> Actor:
    return Actor(
        subject=principal.subject,
        role=principal.role,
        province=principal.province,
        nib=principal.nib,
    )


def _settings(runtime: Runtime) -> SubsidySettings:
    settings = runtime.settings
    assert isinstance(settings, SubsidySettings)
    return settings


def _approval_gate(runtime: Runtime) -> asyncio.Semaphore:
    gate = runtime.extras.get("approval_gate")
    if gate is None:
        gate = runtime.extras["approval_gate"] = asyncio.Semaphore(
            _settings(runtime).approval_concurrency
        )
    assert isinstance(gate, asyncio.Semaphore)
    return gate


@router.post("/programs", status_code=status.HTTP_201_CREATED)
async def create_program(
    body: service.CreateProgram, runtime: RuntimeDep, principal: CurrentCaller
) -> Program:
    principal.require("ministry")
    return await service.create_program(body, _actor(principal), runtime.store)


@router.get("/programs")
async def list_programs(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    kind: ProgramKind | None = None,
) -> dict[str, list[Program]]:
    return {"items": await service.list_programs(runtime.store, fiscal_year, kind)}


@router.post("/applications", status_code=status.HTTP_201_CREATED)
async def submit_application(
    body: service.SubmitApplication, runtime: RuntimeDep, principal: CurrentCaller
) -> Application:
    return await service.submit_application(body, _actor(principal), runtime.store, runtime.outbox)


@router.get("/applications/{application_id}")
async def get_application(
    application_id: str, runtime: RuntimeDep, principal: CurrentCaller
) -> Application:
    return await service.get_application(application_id, _actor(principal), runtime.store)


@router.get("/applications")
async def search_applications(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    enterprise: Annotated[str | None, Query(description="NIB", max_length=CODE_MAX)] = None,
    status: ApplicationStatus | None = None,
    province: Code | None = None,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    page = await service.search_applications(
        _actor(principal),
        runtime.store,
        nib=enterprise,
        status=status,
        province=province,
        limit=limit,
        cursor=cursor,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/applications/{application_id}/review")
async def start_review(
    application_id: str, runtime: RuntimeDep, principal: CurrentCaller
) -> Application:
    return await service.start_review(application_id, _actor(principal), runtime.store)


@router.post("/applications/{application_id}/approve")
async def approve(
    application_id: str, runtime: RuntimeDep, principal: CurrentCaller
) -> Application:
    """Approve and reserve the rebate; if the budget or the enterprise's cap cannot cover it,
    the application is rejected instead (status ``rejected`` with the rule and reason)."""
    return await service.approve(
        application_id,
        _actor(principal),
        runtime.store,
        runtime.outbox,
        regional_limit_rupiah=_settings(runtime).regional_approval_limit_rupiah,
        gate=_approval_gate(runtime),
    )


@router.post("/applications/{application_id}/reject")
async def reject(
    application_id: str,
    body: service.RejectApplication,
    runtime: RuntimeDep,
    principal: CurrentCaller,
) -> Application:
    return await service.reject(
        application_id, body, _actor(principal), runtime.store, runtime.outbox
    )


@router.post("/applications/{application_id}/disburse")
async def disburse(
    application_id: str,
    body: service.DisburseApplication,
    runtime: RuntimeDep,
    principal: CurrentCaller,
) -> Application:
    return await service.disburse(
        application_id, body, _actor(principal), runtime.store, runtime.outbox
    )


@router.post("/applications/{application_id}/cancel")
async def cancel(
    application_id: str,
    body: service.CancelApplication,
    runtime: RuntimeDep,
    principal: CurrentCaller,
) -> Application:
    return await service.cancel(
        application_id, body, _actor(principal), runtime.store, runtime.outbox
    )


@router.get("/budgets")
async def budgets(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    province: Code | None = None,
) -> BudgetReport:
    return await service.budget_report(
        _actor(principal), runtime.store, fiscal_year=fiscal_year, province=province
    )


@router.get("/stats")
async def stats(
    runtime: RuntimeDep, principal: CurrentCaller, fiscal_year: FiscalYear | None = None
) -> Stats:
    return await service.stats(_actor(principal), runtime.store, fiscal_year)
