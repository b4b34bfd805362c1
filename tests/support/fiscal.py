"""Program windows that lie in their fiscal year (the calendar year in Jakarta, WIB), for
tests that create a program open now or one that has closed, whatever the day they run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ikmkit.clock import WIB
from services.subsidy.domain.program_terms import fiscal_year_bounds


def open_now(days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """``fiscal_year``, ``opens_at``, ``closes_at`` of a program open now: from a day ago for
    ``days`` days, cut at the bounds of now's fiscal year (a run on 31 December still works)."""
    now = now or datetime.now(UTC)
    year = now.astimezone(WIB).year
    starts, ends = fiscal_year_bounds(year)
    opens = max(now - timedelta(days=1), starts)
    closes = min(now + timedelta(days=days), ends)
    return {"fiscal_year": year, "opens_at": opens, "closes_at": closes}


def closed_last_year(now: datetime | None = None) -> dict[str, Any]:
    """A program of last fiscal year, open from February to March then: closed today."""
    year = (now or datetime.now(UTC)).astimezone(WIB).year - 1
    return {
        "fiscal_year": year,
        "opens_at": datetime(year, 2, 1, tzinfo=WIB),
        "closes_at": datetime(year, 3, 1, tzinfo=WIB),
    }


def as_json(window: dict[str, Any]) -> dict[str, Any]:
    """The same window as a request body's fields."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in window.items()}
