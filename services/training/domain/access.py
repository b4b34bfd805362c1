"""Who may do what in training, on one ``Caller``.

Courses are a catalog every role may read, except that a regional officer sees only those of
their own province. Another province's course, and someone else's mentor assignment, are
reported as not found, so their existence and contents do not leak."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, NotFound
from services.training.domain import rules
from services.training.domain.mentoring import MentorAssignment
from services.training.domain.model import Course


class Organized(Protocol):
    """A course, or a request to schedule one: where it is held and who organizes it."""

    @property
    def province(self) -> str | None: ...
    @property
    def organizer_id(self) -> str: ...
    @property
    def co_organizer_ids(self) -> list[str]: ...


def hidden_course(course_id: str) -> NotFound:
    # The repository's own words for a course that does not exist: a hidden one is not revealed.
    return NotFound(f"course {course_id} not found")


def require_visible_course(caller: Caller, course: Course) -> None:
    if not can_see_course(caller, course):
        raise hidden_course(course.course_id)


def _other_province(what: str) -> Forbidden:
    return Forbidden(
        f"regional officers {what} only courses in their own province",
        field="province",
        rule="other_province",
    )


def authorize_course_management(caller: Caller, course: Organized) -> None:
    """Ministry: any course; regional: courses in their province; partner: courses it
    organizes. A stored course of another province is "not found" for a regional officer."""
    caller.require("ministry", "regional", "partner", "service")
    if caller.role == "regional" and course.province != caller.province:
        if isinstance(course, Course):
            raise hidden_course(course.course_id)
        raise _other_province("manage")
    if caller.role == "partner" and caller.partner_id not in (
        course.organizer_id,
        *course.co_organizer_ids,
    ):
        raise Forbidden("a partner manages only the courses it organizes")


def authorize_scheduling(caller: Caller, course: Organized) -> None:
    """As managing, and a partner schedules only courses it organizes itself: co-organizing
    lets it manage another's course, not announce one in the ministry's (or another's) name."""
    authorize_course_management(caller, course)
    if caller.role == "partner" and course.organizer_id != caller.partner_id:
        raise Forbidden(
            "a partner schedules only courses it organizes (organizer_id is its own id)",
            field="organizer_id",
            rule="own_course",
        )


def authorize_enrollment(caller: Caller, course: Course, nibs: Sequence[str | None]) -> None:
    """An enterprise may enroll (and cancel) its own people; organizers and officers anyone."""
    if caller.role == "enterprise":
        if any(nib != caller.nib for nib in nibs):
            raise Forbidden("an enterprise enrolls only its own owner and workers (its NIB)")
        return
    authorize_course_management(caller, course)


def can_see_course(caller: Caller, course: Course) -> bool:
    return caller.sees_province(course.province)


def visible_courses(caller: Caller, province: str | None) -> str | None:
    """The province a course list is limited to: a regional officer's own, else the one asked."""
    if caller.role != "regional":
        return rules.check_province(province)
    if province not in (None, caller.province):
        raise _other_province("see")
    return caller.province


def province_scope(caller: Caller, requested: str | None) -> str | None:
    """The province a statistic is limited to: a regional officer's own, whatever is asked."""
    caller.require("ministry", "regional", "service")
    if caller.role != "regional":
        return rules.check_province(requested)
    if requested not in (None, caller.province):
        raise Forbidden(
            f"a regional officer of province {caller.province} sees only that province",
            field="province",
            rule="other_province",
        )
    return caller.province


def authorize_assignment(caller: Caller, partner_id: str) -> None:
    caller.require("ministry", "partner", "service")
    if caller.role == "partner" and caller.partner_id != partner_id:
        raise Forbidden("a partner assigns only its own mentors")


def hidden_assignment(assignment_id: str) -> NotFound:
    # One answer for a missing assignment and for someone else's: its existence does not leak.
    return NotFound(f"no mentor assignment {assignment_id}")


def can_see_assignment(caller: Caller, a: MentorAssignment) -> bool:
    """Ministry and services all, a regional officer their province's, a partner and an
    enterprise their own (the same audience as ``visible_assignments``)."""
    if caller.role in ("ministry", "service"):
        return True
    if caller.role == "regional":
        return a.province == caller.province
    if caller.role == "partner":
        return a.partner_id == caller.partner_id
    if caller.role == "enterprise":
        return a.nib == caller.nib
    return False


def visible_assignments(
    caller: Caller, enterprise: str | None, partner: str | None
) -> dict[str, Any]:
    """The filter of the assignments a caller may list, narrowed to those asked for."""
    where: dict[str, Any] = {}
    if caller.role == "partner":
        if partner not in (None, caller.partner_id):
            raise Forbidden("a partner sees only its own assignments")
        partner = caller.partner_id
    if caller.role == "enterprise":
        if enterprise not in (None, caller.nib):
            raise Forbidden("an enterprise sees only its own assignments")
        enterprise = caller.nib
    if caller.role == "regional":
        where["province"] = caller.province
    if enterprise:
        where["nib"] = enterprise
    if partner:
        where["partner_id"] = partner
    return where
