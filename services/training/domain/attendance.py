"""What an attendance record must satisfy before it is written: each mark names a participant
of the course once, and the session has been held."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.training import CourseSession
from ikmkit.service.errors import Conflict, InvalidInput, Violations
from services.training.domain import rules
from services.training.domain.participants import Enrollment

type Mark = tuple[str, Enrollment | None, bool]
"""A participant id, their enrollment in the course if any, present or not."""


def check_marks(course_id: str, marks: Sequence[Mark]) -> None:
    """Every mark names a participant of the course, once (twice, present and absent, would
    record both ways); each row that does not is named."""
    found = Violations()
    seen: set[str] = set()
    for i, (pid, enrollment, _) in enumerate(marks):
        field = f"marks[{i}].participant_id"
        if pid in seen:
            message = f"participant {pid} is marked in an earlier row"
            found.found.append(InvalidInput(message, field=field, rule="duplicate_participant"))
        elif enrollment is None:
            message = f"participant {pid} is not in course {course_id}"
            found.found.append(InvalidInput(message, field=field, rule="unknown_participant"))
        seen.add(pid)
    found.raise_all()


def require_held(sessions: Sequence[CourseSession], session_id: str, at: datetime) -> None:
    """Who was present is known once the session's day has begun where it is held (taken
    leniently: anywhere on Earth), never ahead of it."""
    [day] = [s.day for s in sessions if s.session_id == session_id]
    if day > rules.latest_day_anywhere(at):
        raise Conflict(
            f"session {session_id!r} is on {day.isoformat()}; its attendance is recorded"
            " once it has been held",
            field="session_id",
            rule="session_not_held",
        )
