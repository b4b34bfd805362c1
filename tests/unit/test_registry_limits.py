"""Registry limits beyond one ``POST /enterprises``: the rows of a bulk import get the same
maxima (refused naming the row's field), the domain rules hold them too, and campaign
de-duplication is linear in the number of tags."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ikmkit.service import limits
from ikmkit.service.errors import InvalidInput, Violations
from services.registry.commands import ImportEnterprises
from services.registry.domain import rules
from services.registry.domain.model import EnterpriseFacts


class CountingTag(str):
    """A tag that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingTag.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_campaign_deduplication_is_linear() -> None:
    tags = [CountingTag(f"#tag{i}") for i in range(150)]
    given = [*tags, *tags[:50]]  # the maximum, 200, with 50 repeated
    CountingTag.comparisons = 0
    assert rules.check_campaigns(given) == [str(t) for t in tags]
    # A list scan compares each tag with all kept before it: ~14,000 comparisons here.
    assert CountingTag.comparisons <= 2 * len(given)


def test_more_campaigns_than_the_maximum_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_campaigns([f"#t{i}" for i in range(limits.ITEMS_MAX + 1)])
    assert (refused.value.field, refused.value.rule) == ("campaigns", "max_items")


def import_row(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "nib": "1234567890123",
        "name": "CV Maju Logam",
        "owner_name": "Budi Santoso",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
    }
    return {**row, **fields}


@pytest.mark.parametrize(
    ("fields", "field", "error_type"),
    [
        ({"street": "x" * 2001}, "street", "string_too_long"),
        ({"products": ["batik"] * 201}, "products", "too_long"),
        (
            {
                "marketplace_stores": [
                    {"platform": "shopee", "shop_url": "https://s.id/" + "a" * 2048}
                ]
            },
            "shop_url",
            "string_too_long",
        ),
        ({"workforce": 2**63}, "workforce", "less_than_equal"),
    ],
)
def test_an_import_row_over_a_maximum_is_refused_naming_the_field(
    fields: dict[str, Any], field: str, error_type: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        ImportEnterprises.model_validate({"rows": [import_row(), import_row(**fields)]})
    errors = refused.value.errors()
    # a number field may also hold the text a file had there: each kind refuses it
    assert {(e["loc"][:2], e["loc"][2] == field or e["loc"][-1] == field) for e in errors} == {
        (("rows", 1), True)
    }
    assert error_type in {e["type"] for e in errors}


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"street": "x" * 2001}, "street", "max_length"),
        ({"products": ["batik"] * 201}, "products", "max_items"),
        (
            {
                "marketplace_stores": [
                    {"platform": "shopee", "shop_url": "https://s.id/" + "a" * 2048}
                ]
            },
            "marketplace_stores",
            "max_length",
        ),
    ],
)
def test_the_domain_rules_hold_the_maxima_too(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    """The second line, for any caller that builds facts without the request model."""
    data: dict[str, Any] = {
        "name": "CV Maju Logam",
        "legal_form": "CV",
        "owner_name": "Budi Santoso",
        "owner_nik": None,
        "owner_phone": None,
        "owner_email": None,
        "preferred_language": "id",
        "street": "",
        "postal_code": None,
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
        "products": [],
        "campaigns": [],
        "marketplace_stores": [],
        **changes,
    }
    violations = Violations()
    assert EnterpriseFacts.checked(data, violations) is None
    assert [(v.field, v.rule) for v in violations.found] == [(field, rule)]
