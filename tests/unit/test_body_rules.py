"""The domain's rules beside a refused body (``ikmkit.service.body_rules``): which fields a rule
sees, that a field the model refused is not named twice, and that a rule's own failure leaves
the schema's answer standing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from ikmkit.service.body_rules import accepted, rules_beside_schema
from ikmkit.service.errors import InvalidInput


class Body(BaseModel):
    name: str
    count: int = 0
    tags: list[str] = Field(default_factory=list)
    province: str | None = None
    regency: str | None = None

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        found = []
        if "count" in fields and fields["count"] < 0:
            found.append(InvalidInput("no", field="count", rule="non_negative"))
        if fields.get("regency") and not fields.get("province"):
            found.append(InvalidInput("no", field="province", rule="required"))
        return found


class Failing(Body):
    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        raise TypeError("a rule's bug")


def errors_of(model: type[BaseModel], given: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(given)
    return list(refused.value.errors())


def test_a_rule_sees_accepted_fields_converted_and_absent_ones_at_their_defaults() -> None:
    given = {"name": 5, "count": "-3", "province": None}
    assert accepted(Body, given, {"name"}) == {
        "count": -3, "tags": [], "province": None, "regency": None
    }  # fmt: skip


def test_the_domain_rules_are_named_beside_the_schema_but_never_on_a_refused_field() -> None:
    given = {"name": 5, "count": -1, "province": 12, "regency": "3471"}
    found = rules_beside_schema(Body, given, errors_of(Body, given))
    # province refused (not text): "a regency needs its province" would name it twice
    assert [(v.field, v.rule) for v in found] == [("count", "non_negative")]


def test_a_failing_rule_leaves_the_schema_errors_alone() -> None:
    given = {"name": 5}
    assert rules_beside_schema(Failing, given, errors_of(Failing, given)) == []
    assert rules_beside_schema(BaseModel, given, []) == []  # a model without rules
