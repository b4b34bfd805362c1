"""Counting: a batch of events adds deltas to cells, one cell per (indicator, fiscal year,
month, province, regency, dimension); the cells are then written once each.

Every delta is written to the indicator's total cell (dimension ``-``) and to one cell per
dimension value (``<dimension>:<value>``), so a breakdown is a read of its own cells."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import NamedTuple

from ikmkit.clock import WIB

NONE = "-"
TOTAL = NONE


def part(value: str | None) -> str:
    """A key part: ``-`` for none; ``|`` (the id separator) never appears inside a part."""
    if type(value) is str and value and "|" not in value:  # the usual case, ~5x cheaper
        return value
    return NONE if value is None or value == "" else str(value).replace("|", "/")


REPORTING_TIME = WIB
"""The ministry counts months and fiscal years by Jakarta time (WIB, UTC+7, no daylight saving):
an event at 03:00 WIB on 1 February is February's, though it is still January in UTC."""


def current_fiscal_year(now: datetime) -> int:
    return now.astimezone(REPORTING_TIME).year


def reporting_date(at: datetime) -> date:
    """The day ``at`` falls on in Jakarta: the day whose month and year count it."""
    return at.astimezone(REPORTING_TIME).date()


@dataclass(frozen=True, order=True)
class Cell:
    indicator: str
    fiscal_year: int
    month: int
    province: str
    regency: str
    dimension: str

    @property
    def id(self) -> str:
        return cell_id(self.key)

    @property
    def key(self) -> CellKey:
        return (
            self.indicator,
            self.fiscal_year,
            self.month,
            self.province,
            self.regency,
            self.dimension,
        )

    def document(self, value: int) -> dict[str, object]:
        return cell_document(self.key, value)


CELL_FIELDS = tuple(f.name for f in fields(Cell))
"""What names a cell, in ``Cell``'s order (the ``counts`` counters' fields; a cell's id is their
values joined by ``|``, ``cell_id``)."""

type CellKey = tuple[str, int, int, str, str, str]
"""A cell's fields in ``Cell``'s order: what a tally sums by (a plain tuple hashes and compares
several times faster than the frozen dataclass, and a batch makes ~5 of them per event)."""


def cell_id(key: CellKey) -> str:
    indicator, fiscal_year, month, province, regency, dimension = key
    return f"{indicator}|{fiscal_year}|{month}|{province}|{regency}|{dimension}"


def cell_fields(
    indicator: str, fiscal_year: int, month: int, province: str, regency: str, dimension: str
) -> dict[str, object]:
    """A cell's fields by name (``CELL_FIELDS``; ``dict(zip(...))`` cost twice this, once per
    touched cell)."""
    return {
        "indicator": indicator,
        "fiscal_year": fiscal_year,
        "month": month,
        "province": province,
        "regency": regency,
        "dimension": dimension,
    }


def cell_document(key: CellKey, value: int, doc_id: str | None = None) -> dict[str, object]:
    """The ``counts`` document of the cell ``key`` holding ``value`` (``doc_id``: its
    ``cell_id`` if the caller has it already)."""
    return {"id": doc_id or cell_id(key), **cell_fields(*key), "value": value}


class Position(NamedTuple):
    """Where one thing is counted in a stock indicator (an enterprise as active in a regency
    and size class, an MoU in force by scope): moving it is -1 here, +1 there. (A named
    tuple: made twice per replicated event, at a third of a frozen dataclass's cost.)"""

    indicator: str
    province: str | None
    regency: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass
class Tally:
    """Deltas per cell, summed in memory."""

    sums: dict[CellKey, int] = field(default_factory=dict)
    # An event's cells share its time: (year, month) of the last time seen, by identity
    # (``astimezone`` is the dearest step of ``add``).
    _last_at: date | datetime | None = field(default=None, repr=False, compare=False)
    _last_month: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)

    @property
    def deltas(self) -> dict[Cell, int]:
        return {Cell(*key): amount for key, amount in self.sums.items()}

    def add(
        self,
        indicator: str,
        at: date | datetime,
        province: str | None,
        regency: str | None = None,
        *,
        amount: int = 1,
        dimensions: Mapping[str, str | None] | None = None,
    ) -> None:
        if amount == 0:
            return
        if at is self._last_at:
            year, month = self._last_month
        else:
            local = at.astimezone(REPORTING_TIME) if isinstance(at, datetime) else at
            year, month = self._last_month = (local.year, local.month)
            self._last_at = at
        where, where_regency = part(province), part(regency)
        sums = self.sums
        key: CellKey = (indicator, year, month, where, where_regency, TOTAL)
        sums[key] = sums.get(key, 0) + amount
        if not dimensions:
            return
        for name, value in dimensions.items():
            if value is not None:
                key = (indicator, year, month, where, where_regency, f"{name}:{part(value)}")
                sums[key] = sums.get(key, 0) + amount

    def add_at(self, position: Position, at: date | datetime, amount: int) -> None:
        self.add(
            position.indicator,
            at,
            position.province,
            position.regency,
            amount=amount,
            dimensions=dict(position.dimensions) if position.dimensions else None,
        )

    def move(self, before: Position | None, after: Position | None, at: datetime) -> None:
        """A stock changes: one less where it was counted, one more where it is now."""
        if before == after:
            return
        if before is not None:
            self.add_at(before, at, -1)
        if after is not None:
            self.add_at(after, at, 1)

    def merge(self, other: Tally) -> None:
        for key, amount in other.sums.items():
            self.sums[key] = self.sums.get(key, 0) + amount

    def changed(self) -> list[tuple[CellKey, int]]:
        """The non-zero deltas in cell order (a key is its cell's fields in order)."""
        return sorted((k, d) for k, d in self.sums.items() if d != 0)

    def __iter__(self) -> Iterator[tuple[Cell, int]]:
        """The non-zero deltas in cell order."""
        return iter([(Cell(*k), d) for k, d in self.changed()])
