"""Events carry the platform's shared value types (``contracts.values``): a consumer or an audit
refuses an event whose NIB, region, KBLI or country breaks the rule, with the rule's code, and
the published schema states the rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from contracts.registry import EnterpriseVerified, PartnerRegistered
from contracts.schema import event_schema
from contracts.subsidy import BudgetExhausted
from contracts.training import CourseScheduled
from contracts.values import ROLES, Role

AT = datetime(2026, 3, 1, tzinfo=UTC)


def verified(**change: Any) -> dict[str, Any]:
    data = {"nib": "1234567890123", "province": "34", "verified_by": "o", "verified_at": AT}
    return {**data, **change}


def rule_of(model: type[Any], data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value.errors()[0]["type"])


def test_an_event_refuses_a_value_that_breaks_its_rule_naming_the_rule() -> None:
    assert rule_of(EnterpriseVerified, verified(nib="123")) == "nib_format"
    assert rule_of(EnterpriseVerified, verified(province="99")) == "province_unknown"
    EnterpriseVerified.model_validate(verified())


def test_a_course_normalizes_and_checks_its_countries() -> None:
    course: dict[str, Any] = {
        "course_id": "c",
        "title": "t",
        "kind": "webinar",
        "organizer_id": "o",
        "start_date": date(2026, 7, 1),
        "end_date": date(2026, 7, 2),
        "capacity": 10,
        "scheduled_by": "o",
        "scheduled_at": AT,
    }
    event = CourseScheduled.model_validate({**course, "eligible_countries": ["my", "TH"]})
    assert event.eligible_countries == ["MY", "TH"]
    assert rule_of(CourseScheduled, {**course, "country": "XX"}) == "iso3166"


def test_fields_published_under_looser_rules_keep_accepting_what_was_published() -> None:
    """Registry partners' country was only two letters, subsidy budgets' province only two
    digits: the log may hold values the shared types refuse, so those fields stay plain."""
    partner = PartnerRegistered(
        partner_id="p", name="n", partner_type="company", country="XX", registered_at=AT
    )
    assert partner.country == "XX"
    budget = BudgetExhausted(
        budget_id="b:99",
        program_id="b",
        program_kind="tkdn_certification",
        program_name="n",
        fiscal_year=2026,
        province="99",
        pool="province",
        allocated_rupiah=1,
        reserved_rupiah=1,
        disbursed_rupiah=0,
        remaining_rupiah=0,
        requested_rupiah=1,
        application_id="a",
        exhausted_at=AT,
    )
    assert budget.province == "99"


def test_the_published_schema_states_the_rule() -> None:
    nib = event_schema(EnterpriseVerified)["properties"]["nib"]
    assert (nib["type"], nib["pattern"]) == ("string", r"^\d{13}$")


def test_roles_are_defined_once_and_listed_from_the_type() -> None:
    assert ROLES == ("ministry", "regional", "partner", "enterprise", "service")
    assert set(get_args(Role)) == set(ROLES)
