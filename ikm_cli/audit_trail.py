"""``ikm audit trail NIB``: one enterprise's story across every service and topic.

Direct events: those whose subject is the NIB, whose payload's ``nib`` is the NIB
(subsidy applications, enrollments, mentor assignments ...) or whose recipient is
``enterprise:<NIB>``. Linked events: those whose aggregate is one of the direct
events' ids (``source_event_id``: notify's delivery events, also when the recipient
was a regional office or the ministry). Ordered by the events' own time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts import envelope as ce
from contracts.catalog import EVENTS_BY_TYPE
from ikmkit.audit.chain import Checked
from ikmkit.audit.findings import Finding
from ikmkit.audit.replay import Progress, replay
from ikmkit.audit.selection import Selection

LINK_FIELD = "source_event_id"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class Trail:
    nib: str
    events: list[Checked] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    read: int = 0


def linked_topics() -> list[str]:
    """Topics whose events point at another event through ``source_event_id``."""
    return sorted({m.TOPIC for m in EVENTS_BY_TYPE.values() if LINK_FIELD in m.model_fields})


async def enterprise_trail(
    kafka: str, nib: str, topics: Sequence[str] | None = None, progress: Progress | None = None
) -> Trail:
    direct = await replay(kafka, topics, Selection(nib=nib), collect=True, progress=progress)
    trail = Trail(nib, list(direct.events), list(direct.errors), direct.read)
    ids = frozenset(c.headers[ce.H_ID] for c in direct.events)
    follow = [t for t in linked_topics() if t in direct.topics]
    if ids and follow:
        linked = await replay(kafka, follow, Selection(subjects=ids), collect=True)
        known = {c.headers[ce.H_ID] for c in trail.events}
        trail.events += [c for c in linked.events if c.headers[ce.H_ID] not in known]
        trail.errors += linked.errors
        trail.read += linked.read
    trail.events.sort(key=lambda c: (c.time or _EARLIEST, c.record.topic, c.sequence or 0))
    return trail
