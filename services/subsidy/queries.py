"""Subsidy reads: programs, applications (as the caller may see them), budgets, statistics."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.subsidy import ApplicationStatus, ProgramKind
from ikmkit.auth import Caller
from ikmkit.service.errors import NotFound
from ikmkit.service.listing import Listing
from services.subsidy.domain import access, reports
from services.subsidy.domain.model import Application
from services.subsidy.domain.programs import Program
from services.subsidy.domain.reports import BudgetReport, Stats
from services.subsidy.store import SubsidyUnit


async def list_programs(
    uow: SubsidyUnit,
    caller: Caller,
    *,
    fiscal_year: int | None,
    kind: ProgramKind | None,
    limit: int,
    cursor: str | None,
) -> Listing[Program]:
    where = {k: v for k, v in (("fiscal_year", fiscal_year), ("kind", kind)) if v is not None}
    items, next_cursor = await uow.programs.page(
        where, order_by=[("created_at", 1)], limit=limit, cursor=cursor
    )
    return Listing(items=items, next_cursor=next_cursor)


async def get_application(uow: SubsidyUnit, application_id: str, caller: Caller) -> Application:
    app = await uow.applications.find_one(application_id)
    if app is None or not access.can_see_application(caller, app):
        # Same answer as a missing one: do not reveal other regions' applications exist.
        raise NotFound(f"no application {application_id}", field="id", rule="unknown")
    return app


@dataclass(frozen=True)
class ApplicationSearch:
    nib: str | None = None
    status: ApplicationStatus | None = None
    province: str | None = None
    limit: int = 50
    cursor: str | None = None


async def search_applications(
    uow: SubsidyUnit, search: ApplicationSearch, caller: Caller
) -> Listing[Application]:
    scope = access.visible_applications(caller, search.nib, search.province)
    where = {
        k: v
        for k, v in (("nib", scope.nib), ("status", search.status), ("province", scope.province))
        if v is not None
    }
    items, next_cursor = await uow.applications.page(
        where, order_by=[("submitted_at", -1)], limit=search.limit, cursor=search.cursor
    )
    return Listing(items=items, next_cursor=next_cursor)


async def budget_report(
    uow: SubsidyUnit, caller: Caller, *, fiscal_year: int | None, province: str | None
) -> BudgetReport:
    province = access.visible_budgets(caller, province)
    return reports.budget_report(await uow.budgets.matching(fiscal_year, province))


async def stats(
    uow: SubsidyUnit, caller: Caller, *, fiscal_year: int | None, province: str | None = None
) -> Stats:
    scope = access.visible_stats(caller, province)
    cells = await uow.applications.stats_cells(fiscal_year, scope)
    return reports.stats_of(cells).model_copy(update={"province_scope": scope})
