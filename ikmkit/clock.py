"""Time, one way everywhere: timezone-aware UTC ``datetime`` in the domain, ISO 8601 with an
offset in the store and on the wire (pydantic's JSON mode), and a ``Clock`` passed in by the
service's bootstrap so tests can fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock that always says ``at`` (tests, replays)."""
    if at.tzinfo is None:
        raise ValueError("a clock tells timezone-aware time")
    return lambda: at
