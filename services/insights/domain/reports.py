"""What the read side answers, and the arithmetic behind it: a period of months, an
indicator's series over it (flows sum their months; stocks sum every change up to the end of
the period), and progress against a target for the elapsed share of the fiscal year."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict

from contracts.values import ProvinceText, RegencyText, documented
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.limits import YEAR_MAX, YEAR_MIN
from services.insights.domain.indicators import Kind
from services.insights.domain.tally import NONE, REPORTING_TIME

By = Literal["month", "province", "regency", "dimension"]
Month = tuple[int, int]


Year = Annotated[int, documented("Fiscal year", minimum=YEAR_MIN, maximum=YEAR_MAX)]


class Point(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    value: int | float
    """An integer count; a percentage (one decimal) for a ratio indicator."""


class IndicatorSeries(BaseModel):
    indicator: str
    unit: str
    kind: Kind
    fiscal_year: Year | None
    province: ProvinceText | None = None
    regency: RegencyText | None = None
    by: By
    total: int | float
    points: list[Point]


class Progress(BaseModel):
    indicator: str
    fiscal_year: Year
    province: ProvinceText | None
    """None: the nation (every province's target and figure summed)."""
    regency: RegencyText | None = None
    actual: int
    target: int
    percent: float
    expected_percent: float
    """How much of the fiscal year has elapsed, by the service's clock."""
    on_track: bool


class ProvinceRow(BaseModel):
    province: ProvinceText
    name: str
    values: dict[str, int | float]
    progress: dict[str, Progress]


class ExportRow(BaseModel):
    indicator: str
    province: str
    regency: str
    month: str
    value: int


def month_key(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def parse_month(text: str) -> Month:
    year, month = text.split("-")
    return int(year), int(month)


def check_months(start: str | None, end: str | None, fiscal_year: int | None = None) -> None:
    """A series' months lie in the platform's fiscal years, ``to`` not before ``from`` (every
    month of a period is a point of the answer: year 1 to 9999 would be 120,000 of them), and
    in the fiscal year when one is named (else the months outside were silently cut off)."""
    found = Violations()
    for field, text in (("from", start), ("to", end)):
        year = None if text is None else parse_month(text)[0]
        if year is not None and not YEAR_MIN <= year <= YEAR_MAX:
            found.found.append(
                InvalidInput(
                    f"{field} must be a month of the years {YEAR_MIN}-{YEAR_MAX}",
                    field=field,
                    rule="month_out_of_range",
                )
            )
        elif year is not None and fiscal_year is not None and year != fiscal_year:
            found.found.append(
                InvalidInput(
                    f"{field} ({text}) is not a month of fiscal year {fiscal_year}",
                    field=field,
                    rule="month_outside_fiscal_year",
                )
            )
    if not found.found and start is not None and end is not None and end < start:
        found.found.append(
            InvalidInput(f"to ({end}) is before from ({start})", field="to", rule="month_order")
        )
    found.raise_all()


@dataclass(frozen=True)
class Period:
    """Months from ``start`` to ``end`` inclusive (None: unbounded)."""

    start: Month | None = None
    end: Month | None = None

    @classmethod
    def of(cls, fiscal_year: int | None, start: str | None, end: str | None) -> Period:
        first = parse_month(start) if start else None
        last = parse_month(end) if end else None
        if fiscal_year is not None:
            first = max(first or (fiscal_year, 1), (fiscal_year, 1))
            last = min(last or (fiscal_year, 12), (fiscal_year, 12))
        return cls(first, last)

    def years(self, kind: Kind) -> tuple[int | None, int | None]:
        """The fiscal years to read: a stock needs every change before the period too."""
        first = None if kind == "stock" or self.start is None else self.start[0]
        return first, None if self.end is None else self.end[0]

    def months(self) -> list[Month]:
        if self.start is None or self.end is None:
            return []
        found, (year, month) = [], self.start
        while (year, month) <= self.end:
            found.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    def before_end(self, month: Month) -> bool:
        return self.end is None or month <= self.end

    def holds(self, month: Month) -> bool:
        return (self.start is None or self.start <= month) and self.before_end(month)


@dataclass(frozen=True)
class Row:
    """The sum of an indicator's cells in one month under one key (province, regency...)."""

    month: Month
    key: str
    value: int


def totals_by_key(kind: Kind, period: Period, rows: Iterable[Row]) -> dict[str, int]:
    """The value per key over the period: a flow's months summed, a stock at its end."""
    values: dict[str, int] = {}
    for row in rows:
        if period.holds(row.month) or (kind == "stock" and period.before_end(row.month)):
            values[row.key] = values.get(row.key, 0) + row.value
    return values


def by_month(kind: Kind, period: Period, rows: Iterable[Row]) -> list[Point]:
    """One point per month of the period (or per month with data, for an open period); a
    stock's point is its value at the end of the month."""
    per_month: dict[Month, int] = {}
    for row in rows:
        per_month[row.month] = per_month.get(row.month, 0) + row.value
    months = period.months() or sorted(m for m in per_month if period.holds(m))
    if kind == "flow":
        return [Point(key=month_key(m), value=per_month.get(m, 0)) for m in months]
    points = []
    for month in months:
        value = sum(v for m, v in per_month.items() if m <= month)
        points.append(Point(key=month_key(month), value=value))
    return points


def percent_of(numerator: int, denominator: int) -> float:
    """numerator / denominator x 100, one decimal; 0 when the denominator is not positive."""
    return round(numerator * 100 / denominator, 1) if denominator > 0 else 0.0


def ratio_points(by: By, numerator: list[Point], denominator: list[Point]) -> list[Point]:
    """A ratio's points from its two flows' points. By month: at the end of each month, both
    summed from the start of the period; by key: each key that has a denominator, but not
    "no place" (the national reserve: its use shows in the provinces that drew on it)."""
    above = {p.key: int(p.value) for p in numerator}
    below = {p.key: int(p.value) for p in denominator}
    if by == "month":
        points, up, down = [], 0, 0
        for month in sorted(above.keys() | below.keys()):
            up, down = up + above.get(month, 0), down + below.get(month, 0)
            points.append(Point(key=month, value=percent_of(up, down)))
        return points
    return [
        Point(key=key, value=percent_of(above.get(key, 0), value))
        for key, value in sorted(below.items())
        if value > 0 and key != NONE
    ]


def elapsed_share(fiscal_year: int, now: datetime) -> float:
    """The elapsed share of the fiscal year (a calendar year, Jakarta time) at ``now``, 0..1."""
    start = datetime(fiscal_year, 1, 1, tzinfo=REPORTING_TIME)
    end = datetime(fiscal_year + 1, 1, 1, tzinfo=REPORTING_TIME)
    return min(max((now - start) / (end - start), 0.0), 1.0)


def expected_percent(fiscal_year: int, now: datetime) -> float:
    """The elapsed share of the fiscal year at ``now``, in percent (one decimal)."""
    return round(elapsed_share(fiscal_year, now) * 100, 1)


def progress(
    indicator: str,
    fiscal_year: int,
    province: str | None,
    regency: str | None,
    actual: int,
    target: int,
    now: datetime,
) -> Progress:
    percent = round(actual * 100 / target, 1) if target > 0 else 100.0
    expected = expected_percent(fiscal_year, now)
    # On track by the figures themselves: 49.98 % and 50.0 % both read 50.0 once rounded.
    reached = actual >= target * elapsed_share(fiscal_year, now) if target > 0 else True
    return Progress(
        indicator=indicator,
        fiscal_year=fiscal_year,
        province=province,
        regency=regency,
        actual=actual,
        target=target,
        percent=percent,
        expected_percent=expected,
        on_track=reached,
    )
