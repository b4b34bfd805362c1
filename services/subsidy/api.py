"""Subsidy HTTP API: each endpoint parses, runs a handler or a query, returns the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from contracts.subsidy import ApplicationStatus, ProgramKind
from contracts.values import Nib, ProvinceCode
from ikmkit.auth import CurrentCaller
from ikmkit.service.idempotency import IDEMPOTENT_ROUTE, IdempotencyKey, idempotent
from ikmkit.service.limits import Code, Cursor, FiscalYear
from ikmkit.service.listing import DEFAULT_PAGE, MAX_PAGE, Listing
from ikmkit.service.runtime import deps_of
from services.subsidy import handlers, queries
from services.subsidy.bootstrap import Subsidy
from services.subsidy.commands import (
    CancelApplication,
    CreateProgram,
    DisburseApplication,
    RejectApplication,
    SubmitApplication,
)
from services.subsidy.domain.model import Application
from services.subsidy.domain.programs import Program
from services.subsidy.domain.reports import BudgetReport, Stats

router = APIRouter(tags=["subsidy"])


async def _subsidy(request: Request) -> Subsidy:
    return deps_of(request, Subsidy)


Deps = Annotated[Subsidy, Depends(_subsidy)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


_CREATE_PROGRAM = idempotent(handlers.create_program, Program, "POST /programs")
_SUBMIT_APPLICATION = idempotent(handlers.submit_application, Application, "POST /applications")


@router.post("/programs", status_code=status.HTTP_201_CREATED, openapi_extra=IDEMPOTENT_ROUTE)
async def create_program(
    body: CreateProgram, deps: Deps, caller: CurrentCaller, key: IdempotencyKey
) -> Program:
    """Create a program and its budgets. Each request is a new program: send an
    ``Idempotency-Key`` so that a retry answers the first one (docs/subsidy.md)."""
    return await deps.units.run(_CREATE_PROGRAM, key, body, caller)


@router.get("/programs")
async def list_programs(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    kind: ProgramKind | None = None,
    cursor: Cursor | None = None,
    limit: Limit = MAX_PAGE,
) -> Listing[Program]:
    return await deps.units.read(
        queries.list_programs,
        caller,
        fiscal_year=fiscal_year,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )


@router.post("/applications", status_code=status.HTTP_201_CREATED, openapi_extra=IDEMPOTENT_ROUTE)
async def submit_application(
    body: SubmitApplication, deps: Deps, caller: CurrentCaller, key: IdempotencyKey
) -> Application:
    """Apply for a rebate. Each request is a new application: send an ``Idempotency-Key`` so
    that a retry answers the first one (docs/subsidy.md)."""
    return await deps.units.run(_SUBMIT_APPLICATION, key, body, caller)


@router.get("/applications/{application_id}")
async def get_application(application_id: Code, deps: Deps, caller: CurrentCaller) -> Application:
    return await deps.units.read(queries.get_application, application_id, caller)


@router.get("/applications")
async def search_applications(
    deps: Deps,
    caller: CurrentCaller,
    enterprise: Annotated[Nib | None, Query(description="NIB")] = None,
    status: ApplicationStatus | None = None,
    province: ProvinceCode | None = None,
    cursor: Cursor | None = None,
    limit: Limit = DEFAULT_PAGE,
) -> Listing[Application]:
    search = queries.ApplicationSearch(enterprise, status, province, limit, cursor)
    return await deps.units.read(queries.search_applications, search, caller)


@router.post("/applications/{application_id}/review")
async def start_review(application_id: Code, deps: Deps, caller: CurrentCaller) -> Application:
    return await deps.units.run(handlers.start_review, application_id, caller)


@router.post("/applications/{application_id}/approve")
async def approve(application_id: Code, deps: Deps, caller: CurrentCaller) -> Application:
    """Approve and reserve the rebate; if the budget or the enterprise's cap cannot cover it,
    the application is rejected instead (status ``rejected`` with the rule and reason)."""
    limit = deps.settings.regional_approval_limit_rupiah
    async with deps.approval_gate:
        return await deps.units.run(
            handlers.approve, application_id, caller, regional_limit_rupiah=limit
        )


@router.post("/applications/{application_id}/reject")
async def reject(
    application_id: Code, body: RejectApplication, deps: Deps, caller: CurrentCaller
) -> Application:
    return await deps.units.run(handlers.reject, application_id, body, caller)


@router.post("/applications/{application_id}/disburse")
async def disburse(
    application_id: Code, body: DisburseApplication, deps: Deps, caller: CurrentCaller
) -> Application:
    return await deps.units.run(handlers.disburse, application_id, body, caller)


@router.post("/applications/{application_id}/cancel")
async def cancel(
    application_id: Code, body: CancelApplication, deps: Deps, caller: CurrentCaller
) -> Application:
    return await deps.units.run(handlers.cancel, application_id, body, caller)


@router.get("/budgets")
async def budgets(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    province: ProvinceCode | None = None,
) -> BudgetReport:
    return await deps.units.read(
        queries.budget_report, caller, fiscal_year=fiscal_year, province=province
    )


@router.get("/stats")
async def stats(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    province: ProvinceCode | None = None,
) -> Stats:
    """Applications, approvals and rebates by program, province and directorate; a regional
    officer's are those of its province (``province_scope``)."""
    return await deps.units.read(queries.stats, caller, fiscal_year=fiscal_year, province=province)
