"""Insights HTTP API: each endpoint parses, runs a handler or a query, returns the result."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from contracts.values import ProvinceCode, RegencyCode
from ikmkit.auth import CurrentCaller
from ikmkit.service.limits import CODE_MAX, Code, Cursor, FiscalYear
from ikmkit.service.listing import MAX_PAGE, Listing
from ikmkit.service.runtime import deps_of
from services.insights import export, queries
from services.insights.bootstrap import Insights
from services.insights.commands import SetTarget
from services.insights.domain.indicators import IndicatorDefinition
from services.insights.domain.model import Target
from services.insights.domain.reports import By, IndicatorSeries, Progress, ProvinceRow
from services.insights.handlers import targets

router = APIRouter(tags=["insights"])


async def _insights(request: Request) -> Insights:
    return deps_of(request, Insights)


Deps = Annotated[Insights, Depends(_insights)]
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"  # [0-9]: the pattern engine's \d takes any script's digits
MonthParam = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]


@router.get("/indicators")
async def list_indicators(deps: Deps, caller: CurrentCaller) -> Listing[IndicatorDefinition]:
    return await deps.units.read(queries.list_indicators, caller)


@router.get("/indicators/{indicator}")
async def indicator_series(
    indicator: Code,
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    province: ProvinceCode | None = None,
    regency: RegencyCode | None = None,
    start: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
    end: Annotated[str | None, Query(alias="to", pattern=MONTH)] = None,
    by: By = "month",
    dimension: Annotated[
        str | None, Query(max_length=CODE_MAX * 2, description="e.g. kind or kind:webinar")
    ] = None,
) -> IndicatorSeries:
    return await deps.units.read(
        queries.indicator_series,
        indicator,
        caller,
        fiscal_year=fiscal_year,
        province=province,
        regency=regency,
        start=start,
        end=end,
        by=by,
        dimension=dimension,
    )


@router.get("/provinces")
async def province_table(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    indicators: Annotated[
        str | None, Query(max_length=4000, description="Indicator ids, comma separated")
    ] = None,
) -> Listing[ProvinceRow]:
    wanted = [i.strip() for i in indicators.split(",") if i.strip()] if indicators else None
    return await deps.units.read(
        queries.province_table, caller, fiscal_year=fiscal_year, indicators=wanted
    )


@router.post("/targets", status_code=status.HTTP_201_CREATED)
async def set_target(body: SetTarget, deps: Deps, caller: CurrentCaller) -> Target:
    return await deps.units.run(targets.set_target, body, caller)


@router.get("/targets")
async def list_targets(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    province: ProvinceCode | None = None,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Listing[Target]:
    return await deps.units.read(
        queries.list_targets,
        caller,
        fiscal_year=fiscal_year,
        province=province,
        limit=limit,
        cursor=cursor,
    )


@router.get("/progress")
async def list_progress(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    indicator: Code | None = None,
    province: ProvinceCode | None = None,
) -> Listing[Progress]:
    return await deps.units.read(
        queries.list_progress,
        caller,
        fiscal_year=fiscal_year,
        indicator=indicator,
        province=province,
    )


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "One row per indicator, province, regency and month",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def export_indicators(
    deps: Deps,
    caller: CurrentCaller,
    fiscal_year: FiscalYear | None = None,
    province: ProvinceCode | None = None,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    rows = await deps.units.read(
        queries.export_rows, caller, fiscal_year=fiscal_year, province=province
    )
    name = f"insights-{fiscal_year or 'current'}{'-' + province if province else ''}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "xlsx":
        return Response(export.to_xlsx(rows), media_type=export.XLSX_TYPE, headers=headers)
    return Response(export.to_csv(rows), media_type=export.CSV_TYPE, headers=headers)
