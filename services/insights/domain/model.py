"""The service's own aggregate: a target (the value an indicator should reach in a province,
optionally a regency, in a fiscal year), set by the ministry (article 003's coordination
meetings). Setting or changing one is the ``TargetSet`` event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from contracts.insights import TargetSet, target_id
from contracts.values import ProvinceText, RegencyText, documented
from ikmkit.service.limits import YEAR_MAX, YEAR_MIN
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed


class Target(Versioned):
    target_id: str
    indicator: str
    fiscal_year: Annotated[int, documented(minimum=YEAR_MIN, maximum=YEAR_MAX)]
    province: ProvinceText
    regency: RegencyText | None = None
    value: int
    set_by: str
    set_at: datetime

    @classmethod
    def set(
        cls,
        indicator: str,
        fiscal_year: int,
        province: str,
        regency: str | None,
        value: int,
        by: str,
        at: datetime,
    ) -> Changed[Target]:
        target = cls(
            target_id=target_id(indicator, fiscal_year, province, regency),
            indicator=indicator,
            fiscal_year=fiscal_year,
            province=province,
            regency=regency,
            value=value,
            set_by=by,
            set_at=at,
        )
        return Changed(target, (target._event(),))

    def change(self, value: int, by: str, at: datetime) -> Changed[Target]:
        target = self.model_copy(update={"value": value, "set_by": by, "set_at": at})
        return Changed(target, (target._event(),))

    def _event(self) -> TargetSet:
        return TargetSet(
            target_id=self.target_id,
            indicator=self.indicator,
            fiscal_year=self.fiscal_year,
            province=self.province,
            regency=self.regency,
            value=self.value,
            set_by=self.set_by,
            set_at=self.set_at,
        )
