"""What each service's OpenAPI tells a client: every 2xx JSON body has a shape, and the fields
with a platform rule (NIB, NIK, region codes, KBLI, e-mail, country, counts) carry that rule
as pattern, length, format, enum or range, in requests and in the responses that echo them.

``python -m tests.support.openapi`` prints the counts these checks are about.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from tests.support.openapi import (
    SERVICES,
    Schema,
    openapi,
    options,
    request_count,
    ruled_fields,
    untyped_responses,
)

DIGITS = {"pattern", "minLength", "maxLength"}
RANGE = {"minimum", "maximum"}
EMAIL = {"format"}
ENUM = {"enum"}

# (model, field): the JSON Schema keywords the field's documented rule must have.
RULED_FIELDS: dict[str, dict[tuple[str, str], set[str]]] = {
    "registry": {
        ("RegisterEnterprise", "nib"): DIGITS,
        ("RegisterEnterprise", "owner_nik"): DIGITS,
        ("RegisterEnterprise", "province"): DIGITS,
        ("RegisterEnterprise", "regency"): DIGITS,
        ("RegisterEnterprise", "kbli"): DIGITS,
        ("RegisterEnterprise", "owner_email"): EMAIL,
        ("RegisterEnterprise", "workforce"): RANGE,
        ("RegisterEnterprise", "investment_rupiah"): RANGE,
        ("RegisterEnterprise", "preferred_language"): ENUM,
        ("UpdateEnterprise", "owner_nik"): DIGITS,
        ("UpdateEnterprise", "kbli"): DIGITS,
        ("RegisterPartner", "country"): DIGITS,
        ("RegisterPartner", "contact_email"): EMAIL,
        ("RegisterPartner", "member_count"): RANGE,
        ("DraftMoU", "province"): DIGITS,
        ("Enterprise", "nib"): DIGITS,
        ("Enterprise", "province"): DIGITS,
        ("Enterprise", "regency"): DIGITS,
        ("Enterprise", "kbli"): DIGITS,
        ("Enterprise", "workforce"): RANGE,
        ("Enterprise", "status"): ENUM,
        ("Partner", "country"): DIGITS,
    },
    "subsidy": {
        ("SubmitApplication", "nib"): DIGITS,
        ("CreateProgram", "share_percent"): RANGE,
        ("CreateProgram", "fiscal_year"): RANGE,
        ("CreateProgram", "cap_per_application_rupiah"): RANGE,
        ("KbliRange", "from_kbli"): DIGITS,
        ("KbliRange", "to_kbli"): DIGITS,
        ("InvoiceLine", "price_rupiah"): RANGE,
        ("Application", "nib"): DIGITS,
        ("Application", "province"): DIGITS,
        ("Application", "kbli"): DIGITS,
        ("Application", "status"): ENUM,
    },
    "training": {
        ("ScheduleCourse", "province"): DIGITS,
        ("ScheduleCourse", "country"): DIGITS,
        ("ScheduleCourse", "capacity"): RANGE,
        ("ScheduleCourse", "min_attendance_percent"): RANGE,
        ("ParticipantDetails", "nib"): DIGITS,
        ("ParticipantDetails", "email"): EMAIL,
        ("ParticipantDetails", "country"): DIGITS,
        ("ParticipantDetails", "province"): DIGITS,
        ("AssignMentor", "nib"): DIGITS,
        ("AssignMentor", "mentor_email"): EMAIL,
        ("Course", "province"): DIGITS,
        ("Course", "country"): DIGITS,
        ("MentorAssignment", "nib"): DIGITS,
    },
    "notify": {
        ("Subscribe", "province"): DIGITS,
        ("Subscribe", "url"): {"format", "maxLength"},
        ("SubscriptionView", "province"): DIGITS,
    },
    "insights": {
        ("SetTarget", "province"): DIGITS,
        ("SetTarget", "regency"): DIGITS,
        ("SetTarget", "fiscal_year"): RANGE,
        ("SetTarget", "value"): RANGE,
        ("Target", "province"): DIGITS,
        ("Target", "regency"): DIGITS,
    },
}


@cache
def document(service: str) -> Schema:
    return openapi(service)


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_success_body_is_typed(service: str) -> None:
    found = untyped_responses(document(service))
    assert not found, f"{service}: 2xx JSON responses without a typed body:\n" + "\n".join(found)


@pytest.mark.parametrize("service", SERVICES)
def test_fields_with_a_platform_rule_document_it(service: str) -> None:
    models = document(service)["components"]["schemas"]
    missing = []
    for (model, field), wanted in RULED_FIELDS[service].items():
        schema: dict[str, Any] = models[model]["properties"][field]
        keywords = set().union(*(o.keys() for o in options(document(service), schema)))
        if not wanted <= keywords:
            missing.append(f"{model}.{field}: lacks {sorted(wanted - keywords)}")
    assert not missing, f"{service}:\n" + "\n".join(missing)


# The row as the file had it, echoed back beside the rules it breaks: no rule to promise.
ECHOES = {"ImportedRow.nib"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_shared_value_field_documents_its_rule(service: str) -> None:
    """Any field named like a shared value (nib, province, *email...), in a request, a bulk
    row or a response, carries its pattern or format."""
    missing = [
        where for where, ok in ruled_fields(document(service)) if not ok and where not in ECHOES
    ]
    assert not missing, f"{service}: shared-value fields without their rule: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_property_carries_a_constraint(service: str) -> None:
    constrained, total = request_count(document(service))
    assert constrained == total, f"{service}: {constrained}/{total} request properties"


def test_the_export_documents_its_csv_and_xlsx_bodies() -> None:
    content = document("insights")["paths"]["/export"]["get"]["responses"]["200"]["content"]
    assert content["text/csv"]["schema"]["type"] == "string"
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert content[xlsx]["schema"] == {"type": "string", "format": "binary"}
