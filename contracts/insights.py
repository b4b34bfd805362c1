"""Events published by the insights service (program indicators, regional targets).

Topic ``ikm.insights.target.v1`` (key = the target id
``<indicator>|<fiscal_year>|<province>|<regency or ->``; ``ce_region`` = the province): a
ministry officer set (or changed) the target of one indicator for one province, optionally
one regency, in one fiscal year. Regional systems subscribe to learn their targets.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.base import Event
from contracts.values import ProvinceCode, RegencyCode

TARGET_TOPIC = "ikm.insights.target.v1"


def target_id(indicator: str, fiscal_year: int, province: str, regency: str | None) -> str:
    """The id of the target of ``indicator`` for a place and fiscal year."""
    return f"{indicator}|{fiscal_year}|{province}|{regency or '-'}"


class TargetSet(Event):
    """The target of an indicator for a province (and optionally a regency) in a fiscal year.

    ``value`` is in the indicator's unit (see docs/insights.md); a later ``TargetSet`` of the
    same target replaces it."""

    TOPIC: ClassVar[str] = TARGET_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "target_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    target_id: str
    indicator: str
    fiscal_year: int
    province: ProvinceCode
    regency: RegencyCode | None = None
    value: int
    set_by: str
    set_at: datetime
