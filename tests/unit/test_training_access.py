"""Who sees what in training: a regional officer only their province, partners and
enterprises only their own mentor assignments; the rest is reported as not found."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden, NotFound
from services.training.commands import ScheduleCourse
from services.training.domain import access, rules
from services.training.domain.mentoring import MentorAssignment
from services.training.domain.model import Course

NOW = datetime(2020, 4, 1, tzinfo=UTC)
MINISTRY = Caller("officer", "ministry")
JATENG = Caller("disperindag-33", "regional", province="33")
DKI = Caller("disperindag-31", "regional", province="31")


def course(province: str | None) -> Course:
    return Course(
        course_id="c-1",
        title="Diklat 3in1",
        kind="diklat_3in1",
        organizer_id="ministry",
        start_date=date(2020, 4, 1),
        end_date=date(2020, 4, 3),
        venues=["Semarang"],
        province=province,
        capacity=10,
        sessions=rules.default_sessions(date(2020, 4, 1), online=False),
        scheduled_by="officer",
        scheduled_at=NOW,
    )


def test_statistics_scope() -> None:
    assert access.province_scope(MINISTRY, None) is None
    assert access.province_scope(MINISTRY, "33") == "33"
    assert access.province_scope(JATENG, None) == "33"
    assert access.province_scope(JATENG, "33") == "33"
    with pytest.raises(Forbidden) as refused:
        access.province_scope(DKI, "33")
    assert (refused.value.field, refused.value.rule) == ("province", "other_province")
    with pytest.raises(Forbidden):
        access.province_scope(Caller("pt-x", "partner", partner_id="pt-x"), None)


def test_another_provinces_course_is_not_found_for_a_regional_officer() -> None:
    assert access.can_see_course(JATENG, course("33"))
    access.authorize_course_management(JATENG, course("33"))
    for hidden in (course("31"), course(None)):
        assert not access.can_see_course(JATENG, hidden)
        with pytest.raises(NotFound):
            access.authorize_course_management(JATENG, hidden)
    assert access.can_see_course(Caller("ikm", "enterprise", nib="1" * 13), course("31"))


def test_scheduling_in_another_province_is_forbidden_naming_the_field() -> None:
    taken = set(ScheduleCourse.model_fields)
    cmd = ScheduleCourse.model_validate(
        {**course("31").model_dump(include=taken), "course_id": None, "sessions": []}
    )
    with pytest.raises(Forbidden) as refused:
        access.authorize_course_management(JATENG, cmd)
    assert refused.value.field == "province"


def test_mentor_assignment_audience() -> None:
    assignment = MentorAssignment(
        id="ma-1",
        nib="1234567890123",
        province="34",
        partner_id="pii-bkti",
        mou_id="mou-1",
        mentor_name="Ir. Bambang",
        starts_on=date(2020, 4, 1),
        ends_on=date(2021, 4, 1),
        assigned_by="officer",
        assigned_at=NOW,
    )
    sees = access.can_see_assignment
    assert sees(MINISTRY, assignment)
    assert sees(Caller("diy", "regional", province="34"), assignment)
    assert not sees(JATENG, assignment)
    assert sees(Caller("p", "partner", partner_id="pii-bkti"), assignment)
    assert not sees(Caller("p", "partner", partner_id="other"), assignment)
    assert sees(Caller("e", "enterprise", nib="1234567890123"), assignment)
    assert not sees(Caller("e", "enterprise", nib="9999999999999"), assignment)
