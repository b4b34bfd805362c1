"""Where the latency bench's time goes, hop by hop, from timestamps the path leaves anyway.

For each registration (all converted to the bench's ``perf_counter`` clock):

- ``scheduled``: when the open-loop generator was due to send it;
- ``registry unit of work``: the ``EnterpriseRegistered`` event's ``ce_time`` (the registry's
  unit of work began, so the request was parsed and validated);
- ``registry relay sent``: that Kafka record's timestamp (set by the relay's producer);
- ``notify consumed``: the owner e-mail notification's ``created_at`` (the consumer's unit of
  work began);
- ``inbox readable``: the owner's in-app message seen committed (``watch_inbox``);
- ``SMTP accepted``: the ``NotificationDelivered`` event's ``delivered_at`` (the unit of work
  recording the outcome began, right after the sink answered);
- ``notify relay sent``: that Kafka record's timestamp;
- ``probe read``: the bench's consumer got it.

Kafka record timestamps have millisecond resolution, the others microseconds; wall-clock
times are moved onto ``perf_counter`` with one offset taken when the bench starts.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.common import Figure

STAMPS = (
    "scheduled",
    "registry unit of work",
    "registry relay sent",
    "notify consumed",
    "inbox readable",
    "SMTP accepted",
    "notify relay sent",
    "probe read",
)
# The inbox row commits in the same transaction the e-mail notification is written in, so
# the hop after it starts from "notify consumed" too: both are measured from there.
_AFTER = {"SMTP accepted": "notify consumed"}


def wall_to_perf() -> float:
    """What to add to a ``time.time()`` reading to put it on the ``perf_counter`` clock."""
    return time.perf_counter() - time.time()


@dataclass
class Hops:
    """Timestamps per enterprise (NIB), filled as the records and rows are seen."""

    offset: float = field(default_factory=wall_to_perf)
    stamps: dict[str, dict[str, float]] = field(default_factory=dict)

    def put(self, nib: str, stamp: str, perf: float) -> None:
        self.stamps.setdefault(nib, {}).setdefault(stamp, perf)

    def put_wall(self, nib: str, stamp: str, wall: float) -> None:
        self.put(nib, stamp, wall + self.offset)

    def put_iso(self, nib: str, stamp: str, iso: str) -> None:
        self.put_wall(nib, stamp, datetime.fromisoformat(iso).timestamp())

    def read_notify_db(self, db: Path, prefix: str) -> None:
        """The owner e-mail notifications' ``created_at`` (read after the run)."""
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        try:
            rows = conn.execute(
                "SELECT json_extract(doc, '$.recipient'), json_extract(doc, '$.created_at')"
                " FROM c_notifications WHERE json_extract(doc, '$.channel') = 'email'"
            ).fetchall()
        finally:
            conn.close()
        for recipient, created in rows:
            if recipient.startswith(prefix):
                self.put_iso(recipient.removeprefix("enterprise:"), "notify consumed", created)

    def figures(self, name: str, nibs: list[str]) -> list[Figure]:
        """p50 and p99 of each hop over the phase's registrations, and one printed line."""
        out: list[Figure] = []
        parts: list[str] = []
        for previous, after in itertools.pairwise(STAMPS):
            before = _AFTER.get(after, previous)
            spans = sorted(
                (s[after] - s[before]) * 1000
                for nib in nibs
                if (s := self.stamps.get(nib)) and before in s and after in s
            )
            if not spans:
                continue
            p50, p99 = spans[len(spans) // 2], spans[min(len(spans) - 1, int(0.99 * len(spans)))]
            hop = f"{before} -> {after}"
            parts.append(f"{hop} {p50:.1f}/{p99:.1f}")
            out.append(Figure("latency", f"{name}: hop {hop} p50", p50, "ms"))
            out.append(Figure("latency", f"{name}: hop {hop} p99", p99, "ms"))
        print(f"latency {name} hops (p50/p99 ms): " + "; ".join(parts))
        return out
