"""Training domain rules: seats and waitlist, completion, certificates, the MoU gate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.training import CourseSession
from ikmkit.service.errors import Conflict, InvalidInput, InvalidInputs
from services.training.domain import rules
from services.training.domain.mentoring import MoUCoverage, covering_mou
from services.training.domain.model import Course
from services.training.domain.participants import (
    ParticipantDetails,
    person_key,
    validate_participant,
)

NOW = datetime(2018, 7, 31, tzinfo=UTC)
KEY = b"test-certificate-key"


def course(**overrides: object) -> Course:
    fields: dict[str, object] = {
        "course_id": "ksst-2018",
        "title": "KSST",
        "kind": "capacity_building",
        "organizer_id": "ministry",
        "start_date": date(2018, 7, 18),
        "end_date": date(2018, 7, 30),
        "venues": ["Jakarta"],
        "capacity": 2,
        "eligible_countries": ["ID", "BT"],
        "sessions": rules.default_sessions(date(2018, 7, 18), online=False),
        "scheduled_by": "t",
        "scheduled_at": NOW,
    }
    fields.update(overrides)
    return Course.model_validate(fields)


def validate(**overrides: object) -> None:
    fields: dict[str, object] = {
        "title": "t",
        "start_date": date(2018, 7, 18),
        "end_date": date(2018, 7, 30),
        "capacity": 20,
        "venues": ["Jakarta"],
        "online_url": None,
        "kind": "capacity_building",
        "province": "31",
        "country": "ID",
        "eligible_countries": [],
        "sessions": [],
        "min_attendance_percent": 75,
    }
    fields.update(overrides)
    rules.validate_course_fields(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"end_date": date(2018, 7, 17)}, "end_date", "end_before_start"),
        ({"capacity": 0}, "capacity", "positive"),
        ({"eligible_countries": ["BT", "ZZ"]}, "eligible_countries[1]", "iso3166"),
        ({"country": "XX"}, "country", "iso3166"),
        ({"province": "99"}, "province", "province_unknown"),
        ({"venues": []}, "venues", "venue_or_online"),
    ],
)
def test_invalid_courses_name_the_field(
    overrides: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(**overrides)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_seats_then_waitlist_then_promotion_keeps_counts() -> None:
    c = course()
    c, first, _ = c.take_place()
    c, second, _ = c.take_place()
    c, third, seq = c.take_place()
    assert (first, second, third, seq) == ("enrolled", "enrolled", "waitlisted", 3)
    c = c.release("enrolled", promote=True)
    assert (c.enrolled_count, c.waitlisted_count) == (2, 0)
    c = c.release("enrolled", promote=False)
    assert (c.enrolled_count, c.waitlisted_count) == (1, 0)


def test_completion_only_after_the_end_date_and_then_closed() -> None:
    with pytest.raises(Conflict) as caught:
        course().complete([], KEY, "t", datetime(2018, 7, 29, tzinfo=UTC))
    assert caught.value.rule == "not_ended"
    closed = course().complete([], KEY, "t", datetime(2018, 7, 30, tzinfo=UTC)).state.course
    with pytest.raises(Conflict) as refused:
        closed.take_place()
    assert refused.value.rule == "course_finished"


def test_attendance_threshold() -> None:
    c = course(min_attendance_percent=75)
    assert c.completes(1)
    assert not c.completes(0)


def test_participant_rules() -> None:
    c = course()
    foreign = ParticipantDetails(name=" Tenzin  Dorji ", kind="civil_servant", country="bt")
    ok = validate_participant(foreign, c, None, nib_known=False)
    assert (ok.name, ok.country) == ("Tenzin Dorji", "BT")
    with pytest.raises(InvalidInput) as caught:
        validate_participant(
            ParticipantDetails(name="A", kind="other", country="FR"), c, None, False
        )
    assert caught.value.rule == "not_eligible"
    with pytest.raises(InvalidInput) as caught:
        validate_participant(
            ParticipantDetails(name="A", kind="ikm_owner", nib="1234567890123"), c, None, False
        )
    assert caught.value.rule == "unknown_nib"


def test_same_person_same_pseudonym_regardless_of_spacing_and_case() -> None:
    a = ParticipantDetails(name="Siti  Rahma", kind="civil_servant")
    b = ParticipantDetails(name="siti rahma", kind="civil_servant")
    assert person_key(a) == person_key(b)
    assert rules.participant_id(b"k", person_key(a)) != rules.participant_id(
        b"other", person_key(a)
    )


def test_certificate_numbers_verify_only_for_their_fields_and_key() -> None:
    number = rules.certificate_number(KEY, "ksst-2018", "p-1", date(2018, 7, 31))
    assert rules.check_certificate_format(number.lower()) == number
    assert rules.certificate_is_genuine(KEY, number, "ksst-2018", "p-1", date(2018, 7, 31))
    assert not rules.certificate_is_genuine(KEY, number, "ksst-2018", "p-2", date(2018, 7, 31))
    assert not rules.certificate_is_genuine(b"other", number, "ksst-2018", "p-1", date(2018, 7, 31))
    with pytest.raises(InvalidInput):
        rules.check_certificate_format("IKMT-2018-XXXX")


def coverage(status: str, valid_from: date, valid_until: date) -> MoUCoverage:
    return MoUCoverage.model_validate(
        {
            "id": "m|p",
            "mou_id": "m",
            "partner_id": "p",
            "scope": "technical_assistance",
            "status": status,
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
    )


@pytest.mark.parametrize(
    ("coverages", "rule"),
    [
        ([], "mou_required"),
        ([coverage("terminated", date(2020, 1, 1), date(2030, 1, 1))], "mou_terminated"),
        ([coverage("signed", date(2020, 1, 1), date(2020, 12, 31))], "mou_expired"),
        ([coverage("expired", date(2020, 1, 1), date(2020, 12, 31))], "mou_expired"),
        ([coverage("signed", date(2026, 1, 1), date(2030, 1, 1))], "mou_not_yet_valid"),
    ],
)
def test_mou_gate_refuses_with_the_reason(coverages: list[MoUCoverage], rule: str) -> None:
    with pytest.raises(Conflict) as caught:
        covering_mou(coverages, "p", date(2025, 6, 1))
    assert caught.value.rule == rule


def test_mou_gate_accepts_a_signed_valid_mou() -> None:
    valid = coverage("signed", date(2025, 1, 1), date(2027, 1, 1))
    assert covering_mou([valid], "p", date(2025, 6, 1)) == valid


def named(err: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[str | None, str | None]]:
    every = err.value.violations if isinstance(err.value, InvalidInputs) else [err.value]
    return {(v.field, v.rule) for v in every}


def test_a_course_breaking_several_rules_is_refused_naming_each() -> None:
    sessions = [
        CourseSession(session_id="s1", title="a", kind="lecture", day=date(2018, 7, 18)),
        CourseSession(session_id="s1", title="b", kind="lecture", day=date(2018, 8, 18)),
    ]
    with pytest.raises(InvalidInput) as caught:
        validate(
            title=" ",
            end_date=date(2018, 7, 17),
            capacity=0,
            venues=[],
            kind="webinar",
            min_attendance_percent=101,
            province="99",
            country="XX",
            eligible_countries=["BT", "ZZ"],
            sessions=sessions,
        )
    assert named(caught) == {
        ("title", "required"),
        ("end_date", "end_before_start"),
        ("capacity", "positive"),
        ("venues", "venue_or_online"),
        ("online_url", "required"),
        ("min_attendance_percent", "range"),
        ("province", "province_unknown"),
        ("country", "iso3166"),
        ("eligible_countries[1]", "iso3166"),
        ("sessions[1].session_id", "unique"),
        ("sessions[0].day", "within_course"),
        ("sessions[1].day", "within_course"),
    }


def test_a_participant_breaking_several_rules_is_refused_naming_each() -> None:
    details = ParticipantDetails(
        name="  ", kind="ikm_owner", email="not an address", country="FR", province="31"
    )
    with pytest.raises(InvalidInput) as caught:
        validate_participant(details, course(), None, nib_known=False)
    assert named(caught) == {
        ("name", "required"),
        ("email", "email_format"),
        ("country", "not_eligible"),
        ("province", "foreign"),
        ("nib", "required"),
    }
