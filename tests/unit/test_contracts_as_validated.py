"""``contracts.base.as_validated`` builds the model validation would build, through
pydantic's slots (their descriptors, since session 20): the same fields in the same order,
fields set, extras and private attributes, and a model that behaves as a validated one
(equality, hash of a frozen model, copy, dumps, JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.base import as_validated
from contracts.registry import EnterpriseOnboardedToMarketplace, OwnerContact


def test_a_model_built_as_validated_is_the_validated_one() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    given = {"nib": "1234567890123", "province": "34", "platform": "shopee",
             "shop_url": "https://s.id/a", "onboarded_at": at}  # fmt: skip
    validated = EnterpriseOnboardedToMarketplace(**given)
    made = as_validated(EnterpriseOnboardedToMarketplace, dict(validated.__dict__), set(given))
    assert type(made) is EnterpriseOnboardedToMarketplace
    assert made == validated and hash(made) == hash(validated)
    assert list(made.__dict__) == list(validated.__dict__)
    assert made.model_fields_set == validated.model_fields_set
    assert (made.__pydantic_extra__, made.__pydantic_private__) == (None, None)
    assert made.model_dump() == validated.model_dump()
    assert made.model_dump_json() == validated.model_dump_json()
    moved = made.model_copy(update={"province": "35"})
    assert moved.province == "35" and made.province == "34"


def test_the_fields_set_given_is_the_models() -> None:
    fields_set = {"name"}
    values = {"name": "Budi", "email": None, "phone": None, "preferred_language": "id"}
    made = as_validated(OwnerContact, values, fields_set)
    assert made.model_fields_set == {"name"}
    assert made == OwnerContact(name="Budi")
    assert made.model_dump(exclude_unset=True) == {"name": "Budi"}
