"""Which events an audit reports on (every event is still verified: chains need them all)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import envelope as ce
from contracts.base import Event
from ikmkit.audit.chain import Checked


@dataclass(frozen=True)
class Selection:
    """Which events the audit reports on (all of them are still verified)."""

    since: datetime | None = None
    until: datetime | None = None
    aggregate: str | None = None
    types: frozenset[str] = frozenset()
    province: str | None = None
    nib: str | None = None  # the subject, or an event its contract says concerns the enterprise
    subjects: frozenset[str] = frozenset()  # any of these aggregates

    def keys(self) -> frozenset[bytes]:
        """The Kafka keys of the chosen aggregates (empty: every aggregate)."""
        chosen = set(self.subjects) | ({self.aggregate} if self.aggregate is not None else set())
        return frozenset(s.encode() for s in chosen)

    def selects(self, checked: Checked) -> bool:
        headers = checked.headers
        if self.aggregate is not None and headers.get(ce.H_SUBJECT) != self.aggregate:
            return False
        if self.subjects and headers.get(ce.H_SUBJECT) not in self.subjects:
            return False
        if self.province is not None and headers.get(ce.H_REGION) != self.province:
            return False
        if self.types and not self._type_selected(checked):
            return False
        if (self.since or self.until) and not self._time_selected(checked.time):
            return False
        return self.nib is None or self._about_nib(checked)

    def _type_selected(self, checked: Checked) -> bool:
        name = checked.model.__name__ if checked.model else None
        return checked.headers.get(ce.H_TYPE) in self.types or name in self.types

    def _time_selected(self, at: datetime | None) -> bool:
        if at is None:  # no time to place it outside the window: reported, never hidden
            return True
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def _about_nib(self, checked: Checked) -> bool:
        assert self.nib is not None
        if checked.headers.get(ce.H_SUBJECT) == self.nib:
            return True
        value = checked.record.value or b""
        if self.nib.encode() not in value:
            return False
        try:
            data = json.loads(value)
            return bool((checked.model or Event).concerns_enterprise(data, self.nib))
        except (ValueError, AttributeError):
            return False

    def describe(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "aggregate": self.aggregate,
            "types": sorted(self.types),
            "province": self.province,
            "nib": self.nib,
            "subjects": sorted(self.subjects),
        }
