"""Time, one way everywhere: timezone-aware UTC ``datetime`` in the domain, ISO 8601 with an
offset in the store and on the wire (pydantic's JSON mode), and a ``Clock`` passed in by the
service's bootstrap so tests can fix it. Calendar days (a signature's date, an end date, a
month or fiscal year) are Jakarta's: ``WIB``, ``jakarta_date``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

Clock = Callable[[], datetime]

WIB = timezone(timedelta(hours=7), "WIB")
"""Jakarta time (UTC+7, no daylight saving), where the ministry keeps its books and dates."""


def jakarta_date(at: datetime) -> date:
    """The calendar day it is at ``at`` in Jakarta: from 00:00 to 07:00 WIB, UTC's date is
    still the day before."""
    return at.astimezone(WIB).date()


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock that always says ``at`` (tests, replays)."""
    if at.tzinfo is None:
        raise ValueError("a clock tells timezone-aware time")
    return lambda: at
