"""Reads: the indicator catalog, an indicator's series, the per-province table, targets,
progress and the export rows. Each read is limited by ``domain/access.py``: a regional
officer reads their own province."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from lokal.provinces import PROVINCES

from ikmkit.auth import Caller
from ikmkit.service.errors import InvalidInput, NotFound, Violations
from ikmkit.service.listing import Listing
from ikmkit.store import In, Range
from services.insights.derived import group_counts
from services.insights.domain import access
from services.insights.domain.indicators import (
    CATALOG,
    INDICATORS,
    IndicatorDefinition,
    check_dimension,
    require_regency_figures,
)
from services.insights.domain.model import Target
from services.insights.domain.places import check_regency
from services.insights.domain.reports import (
    By,
    ExportRow,
    IndicatorSeries,
    Period,
    Point,
    Progress,
    ProvinceRow,
    Row,
    by_month,
    check_months,
    month_key,
    percent_of,
    progress,
    ratio_points,
    totals_by_key,
)
from services.insights.domain.tally import NONE, TOTAL, current_fiscal_year
from services.insights.store import COUNTS, InsightsUnit

ALL = 10_000
KEY_FIELD: dict[By, str | None] = {
    "month": None,
    "province": "province",
    "regency": "regency",
    "dimension": "dimension",
}


async def list_indicators(uow: InsightsUnit, caller: Caller) -> Listing[IndicatorDefinition]:
    access.authorize_read(caller)
    return Listing(items=list(CATALOG))


def definition_of(indicator: str) -> IndicatorDefinition:
    found = INDICATORS.get(indicator)
    if found is None:
        raise NotFound(f"indicator {indicator} not found")
    return found


def check_indicators(indicators: list[str], field: str) -> None:
    """Indicators a query parameter names: each unknown one is that parameter's 422 (a 404 is
    for the path's own resource, ``/indicators/{indicator}``)."""
    found = Violations()
    for indicator in indicators:
        if indicator not in INDICATORS:
            found.found.append(
                InvalidInput(
                    f"unknown indicator {indicator!r}", field=field, rule="indicator_unknown"
                )
            )
    found.raise_all()


def _dimension_filter(by: By, dimension: str | None) -> Any:
    """Total cells, or one dimension value's cells (``kind:webinar``); for ``by=dimension``
    every value of one dimension (``kind``), the values starting with a prefix
    (``course_country:KSST-1/``: one course's countries), or every dimension's values."""
    if by != "dimension":
        return dimension if dimension and ":" in dimension else TOTAL
    if not dimension:
        return Range(gte="a")
    if ":" in dimension:
        return Range(gte=dimension, lt=dimension + "\uffff")
    return Range(gte=f"{dimension}:", lt=f"{dimension};")


async def _rows(
    uow: InsightsUnit,
    definition: IndicatorDefinition,
    period: Period,
    where: dict[str, Any],
    keys: list[str],
) -> list[Row]:
    first, last = period.years(definition.kind)
    found = {"indicator": definition.id, **where}
    if first is not None or last is not None:
        found["fiscal_year"] = Range(gte=first, lt=None if last is None else last + 1)
    groups = await group_counts(uow.tx, COUNTS, ["fiscal_year", "month", *keys], found)
    return [
        Row(
            (g.key["fiscal_year"], g.key["month"]),
            "|".join(str(g.key[k]) for k in keys),
            int(g.sums["value"]),
        )
        for g in groups
    ]


def _place(province: str | None, regency: str | None) -> dict[str, str]:
    place = {"province": province, "regency": regency}
    return {k: v for k, v in place.items() if v is not None}


def _checked(
    indicator: str,
    caller: Caller,
    place: tuple[str | None, str | None],
    by: By,
    months: tuple[str | None, str | None, int | None],
    dimension: str | None,
) -> tuple[IndicatorDefinition, tuple[str | None, str | None]]:
    """The indicator and the place the caller may read, every broken rule named at once
    (``months``: from, to and the fiscal year)."""
    found = Violations()
    visible = found.check(access.visible_place, caller, *place)  # 403 at once
    definition = definition_of(indicator)
    found.check(require_regency_figures, definition, place[1], by)
    found.check(check_regency, place[1])
    found.check(check_months, *months)
    found.check(check_dimension, definition, dimension)
    found.raise_all()
    assert visible is not None
    return definition, visible


async def indicator_series(
    uow: InsightsUnit,
    indicator: str,
    caller: Caller,
    *,
    fiscal_year: int | None = None,
    province: str | None = None,
    regency: str | None = None,
    start: str | None = None,
    end: str | None = None,
    by: By = "month",
    dimension: str | None = None,
) -> IndicatorSeries:
    definition, (province, regency) = _checked(
        indicator, caller, (province, regency), by, (start, end, fiscal_year), dimension
    )
    if definition.ratio is not None:  # computed from its two flows (budget use)
        where = {"fiscal_year": fiscal_year, "province": province, "start": start, "end": end}
        return await _ratio_series(uow, definition, caller, by, dimension, where)
    period = Period.of(fiscal_year, start, end)
    place = _place(province, regency)
    totals = {**place, "dimension": _dimension_filter("month", dimension)}
    rows = await _rows(uow, definition, period, totals, [])
    if by == "month":
        points = by_month(definition.kind, period, rows)
    else:
        points = await _points_by_key(uow, definition, period, place, by, dimension)
    return IndicatorSeries(
        indicator=indicator,
        unit=definition.unit,
        kind=definition.kind,
        fiscal_year=fiscal_year,
        province=province,
        regency=regency,
        by=by,
        total=sum(totals_by_key(definition.kind, period, rows).values()),
        points=points,
    )


async def _points_by_key(
    uow: InsightsUnit,
    definition: IndicatorDefinition,
    period: Period,
    place: dict[str, str],
    by: By,
    dimension: str | None,
) -> list[Point]:
    """The series per province, regency or dimension value: a query of its own, grouped by
    that key (the month totals cannot be split by it); keys with nothing are left out."""
    key = KEY_FIELD[by] or "province"
    keyed = {**place, "dimension": _dimension_filter(by, dimension)}
    rows = await _rows(uow, definition, period, keyed, [key])
    values = totals_by_key(definition.kind, period, rows)
    return [Point(key=k, value=v) for k, v in sorted(values.items()) if v]


async def _ratio_series(
    uow: InsightsUnit,
    definition: IndicatorDefinition,
    caller: Caller,
    by: By,
    dimension: str | None,
    where: dict[str, Any],
) -> IndicatorSeries:
    """A ratio indicator: its numerator's and denominator's series, divided."""
    assert definition.ratio is not None
    above, below = [
        await indicator_series(uow, part, caller, by=by, dimension=dimension, **where)
        for part in definition.ratio
    ]
    return above.model_copy(
        update={
            "indicator": definition.id,
            "unit": definition.unit,
            "total": percent_of(int(above.total), int(below.total)),
            "points": ratio_points(by, above.points, below.points),
        }
    )


async def _table_values(
    uow: InsightsUnit, indicator: str, fiscal_year: int, province: str | None
) -> Mapping[tuple[str | None, str | None], int | float]:
    """``_actuals``, or for a ratio indicator the ratio of its two flows' actuals."""
    ratio = definition_of(indicator).ratio
    if ratio is None:
        return await _actuals(uow, indicator, fiscal_year, province)
    above, below = [await _actuals(uow, part, fiscal_year, province) for part in ratio]
    return defaultdict(float, {key: percent_of(above[key], value) for key, value in below.items()})


async def _actuals(
    uow: InsightsUnit, indicator: str, fiscal_year: int, province: str | None
) -> dict[tuple[str | None, str | None], int]:
    """An indicator's value in a fiscal year per (province, regency), per (province, None)
    and for the nation (None, None)."""
    definition = definition_of(indicator)
    period = Period.of(fiscal_year, None, None)
    where: dict[str, Any] = {"dimension": TOTAL}
    if province is not None:
        where["province"] = province
    rows = await _rows(uow, definition, period, where, ["province", "regency"])
    found: dict[tuple[str | None, str | None], int] = defaultdict(int)
    for key, value in totals_by_key(definition.kind, period, rows).items():
        prov, reg = key.split("|")
        found[(None, None)] += value
        if prov != NONE:
            found[(prov, None)] += value
            if reg != NONE:
                found[(prov, reg)] += value
    return found


async def _targets(uow: InsightsUnit, where: dict[str, Any]) -> list[Target]:
    found, _ = await uow.targets.page(where, order_by=[("target_id", 1)], limit=ALL)
    return found


async def list_targets(
    uow: InsightsUnit,
    caller: Caller,
    *,
    fiscal_year: int | None = None,
    province: str | None = None,
    limit: int = 500,
    cursor: str | None = None,
) -> Listing[Target]:
    province = access.visible_province(caller, province)
    where: dict[str, Any] = {}
    if fiscal_year is not None:
        where["fiscal_year"] = fiscal_year
    if province is not None:
        where["province"] = province
    items, next_cursor = await uow.targets.page(
        where, order_by=[("target_id", 1)], limit=limit, cursor=cursor
    )
    return Listing(items=items, next_cursor=next_cursor)


async def _progress_of(
    uow: InsightsUnit, targets: list[Target], fiscal_year: int, province: str | None, national: bool
) -> list[Progress]:
    by_indicator: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        by_indicator[target.indicator].append(target)
    found: list[Progress] = []
    for indicator, theirs in sorted(by_indicator.items()):
        actual = await _actuals(uow, indicator, fiscal_year, province)
        if national:
            planned = sum(t.value for t in theirs if t.regency is None)
            found.append(
                progress(indicator, fiscal_year, None, None, actual[(None, None)], planned, uow.now)
            )
        for t in theirs:
            value = actual[(t.province, t.regency)]
            found.append(
                progress(indicator, fiscal_year, t.province, t.regency, value, t.value, uow.now)
            )
    return found


async def list_progress(
    uow: InsightsUnit,
    caller: Caller,
    *,
    fiscal_year: int | None = None,
    indicator: str | None = None,
    province: str | None = None,
) -> Listing[Progress]:
    """Actual against target for every target (and, for a national reader asking for no
    province, the nation: every province's target summed)."""
    province = access.visible_province(caller, province)
    year = fiscal_year or current_fiscal_year(uow.now)
    where: dict[str, Any] = {"fiscal_year": year}
    if indicator is not None:
        check_indicators([indicator], "indicator")
        where["indicator"] = indicator
    if province is not None:
        where["province"] = province
    targets = await _targets(uow, where)
    return Listing(items=await _progress_of(uow, targets, year, province, province is None))


async def province_table(
    uow: InsightsUnit,
    caller: Caller,
    *,
    fiscal_year: int | None = None,
    indicators: list[str] | None = None,
) -> Listing[ProvinceRow]:
    """One row per province (a regional officer: theirs): the indicators' values and their
    progress where the province has a target."""
    only = access.visible_province(caller, None)
    year = fiscal_year or current_fiscal_year(uow.now)
    wanted = indicators or [i.id for i in CATALOG]
    check_indicators(wanted, "indicators")
    provinces = [only] if only is not None else sorted(PROVINCES)
    values: dict[str, dict[str, int | float]] = {p: {} for p in provinces}
    for indicator in wanted:
        actual = await _table_values(uow, indicator, year, only)
        for p in provinces:
            values[p][indicator] = actual[(p, None)]
    where: dict[str, Any] = {"fiscal_year": year, "indicator": In(wanted), "regency": None}
    if only is not None:
        where["province"] = only
    reached: dict[str, dict[str, Progress]] = defaultdict(dict)
    for row in await _progress_of(uow, await _targets(uow, where), year, only, False):
        if row.province is not None:
            reached[row.province][row.indicator] = row
    rows = [
        ProvinceRow(province=p, name=PROVINCES.get(p, p), values=values[p], progress=reached[p])
        for p in provinces
    ]
    return Listing(items=rows)


async def export_rows(
    uow: InsightsUnit,
    caller: Caller,
    *,
    fiscal_year: int | None = None,
    province: str | None = None,
) -> list[ExportRow]:
    """Every total cell of a fiscal year (a stock's cells are its monthly changes)."""
    province = access.visible_province(caller, province)
    where: dict[str, Any] = {
        "fiscal_year": fiscal_year or current_fiscal_year(uow.now),
        "dimension": TOTAL,
    }
    if province is not None:
        where["province"] = province
    rows: list[ExportRow] = []
    cursor: str | None = None
    while True:
        page = await uow.tx.find(
            COUNTS,
            where,
            order_by=[("indicator", 1), ("province", 1), ("regency", 1), ("month", 1)],
            limit=1000,
            cursor=cursor,
        )
        rows += [
            ExportRow(
                indicator=d["indicator"],
                province=d["province"],
                regency=d["regency"],
                month=month_key((d["fiscal_year"], d["month"])),
                value=d["value"],
            )
            for d in page.items
        ]
        cursor = page.next_cursor
        if cursor is None:
            return rows
