"""Request models of the insights service."""

from __future__ import annotations

from pydantic import Field

from contracts.values import ProvinceCode, RegencyCode
from ikmkit.service.command import Command
from ikmkit.service.limits import COUNT_MAX, RUPIAH_MAX, Code, FiscalYear


class SetTarget(Command):
    """The target of ``indicator`` (in its unit) for a province, optionally a regency."""

    indicator: Code
    fiscal_year: FiscalYear
    province: ProvinceCode
    regency: RegencyCode | None = None
    value: int = Field(ge=0, le=max(COUNT_MAX, RUPIAH_MAX))
