"""A registration is built as validation would build it, without validating again, and a clean
row's rules run without a wrapper per rule, while a broken row still names every rule.

``Enterprise.register`` builds the aggregate and its events from facts pydantic validated
(their four codes checked by the events' own types) without validating them a second time:
for generated and edge-case rows the objects must be the ones full validation makes (fields in
order, fields set, ``model_dump``, equality, event payload bytes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts import codec
from contracts.registry import (
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    OwnerContact,
)
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.limits import COUNT_MAX, RUPIAH_MAX
from services.registry.commands import RegisterEnterprise
from services.registry.domain import facts as facts_module
from services.registry.domain import model
from services.registry.domain.facts import EnterpriseFacts, MarketplaceStore
from services.registry.domain.model import Enterprise
from services.registry.handlers.enterprises import command_data

REGENCIES = ["1101", "1171", "3471", "3374", "9171", "9301", "6571", "3578", "5171"]
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40)
_NAME = _TEXT.filter(lambda t: 0 < len(t.strip()) <= 200)
_AT = st.sampled_from(
    [
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 16, 0, 0, 123456, tzinfo=timezone(timedelta(hours=7))),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(2026, 3, 2, 9, 0),  # naive: built the same way, whatever it means
    ]
)
_INVESTMENT = st.sampled_from([0, 1, 999_999_999, 1_000_000_000, 15_000_000_000, RUPIAH_MAX])


@st.composite
def registrations(draw: st.DrawFn) -> dict[str, Any]:
    regency = draw(st.sampled_from(REGENCIES))
    optional = {
        "owner_nik": st.sampled_from(["3471010105900001", "3471014105900001"]),
        "owner_phone": st.sampled_from(["081200000000", "+62 21 555 1234", "(021) 5551234", ""]),
        "owner_email": st.sampled_from(["budi@example.id", "Budi@Bücher.de", "x@y.co"]),
        "postal_code": st.sampled_from(["55231", ""]),
        "preferred_language": st.sampled_from(["id", "en"]),
        "street": _TEXT,
        "products": st.lists(_NAME.filter(lambda t: len(t.strip()) <= 120), max_size=3),
        "campaigns": st.lists(st.sampled_from(["#SemuanyaAdaDisini", "BBI", "#BBI"]), max_size=3),
        "marketplace_stores": st.lists(
            st.builds(
                dict,
                platform=st.sampled_from(["shopee", "Tiktok Shop", "TOKOPEDIA"]),
                shop_url=st.sampled_from(["https://shopee.co.id/x", " http://a.id/b/ "]),
            ),
            max_size=3,
        ),
    }
    row = {
        "nib": draw(st.from_regex(r"\A[0-9]{13}\Z")),
        "name": draw(_NAME),
        "legal_form": draw(st.sampled_from(["PT", "cv", "PT_perorangan", "koperasi"])),
        "owner_name": draw(_NAME),
        "province": regency[:2],
        "regency": regency,
        "kbli": draw(st.sampled_from(["10710", "33000", "29300", "13121"])),
        "workforce": draw(st.sampled_from([0, 1, 19, 20, COUNT_MAX])),
        "investment_rupiah": draw(_INVESTMENT),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            row[key] = draw(values)
    return row


@contextlib.contextmanager
def validated_always() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model, "_built_as_validated", lambda *_: False)
        yield


def assert_same(fast: BaseModel, validated: BaseModel) -> None:
    assert type(fast) is type(validated)
    assert fast == validated
    assert list(fast.__dict__) == list(validated.__dict__)
    assert [type(v) for v in fast.__dict__.values()] == [
        type(v) for v in validated.__dict__.values()
    ]
    assert fast.model_fields_set == validated.model_fields_set
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_dump_json() == validated.model_dump_json()
    assert (fast.__pydantic_extra__, fast.__pydantic_private__) == (
        validated.__pydantic_extra__,
        validated.__pydantic_private__,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registrations(), _AT)
@example(
    {"nib": "0000000000000", "name": " a ", "legal_form": "CV", "owner_name": "b",
     "province": "91", "regency": "9171", "kbli": "10000", "workforce": 19,
     "investment_rupiah": 999_999_999},
    datetime(2026, 1, 1, tzinfo=UTC),
)  # fmt: skip
def test_a_registration_is_built_as_validation_builds_it(row: dict[str, Any], at: datetime) -> None:
    try:
        cmd = RegisterEnterprise.model_validate(row)
    except ValidationError:  # a value the generator drew beyond a request model's bound
        reject()
    try:
        facts = EnterpriseFacts.checked(cmd.model_dump(), Violations(), typed=True)
        assert facts is not None
        # The handlers read the request without dumping plain values again: the same facts.
        read = EnterpriseFacts.checked(command_data(cmd), Violations(), typed=True)
        assert read == facts and read is not None
        assert list(read.__dict__) == list(facts.__dict__)
        assert read.model_fields_set == facts.model_fields_set
        fast = Enterprise.register(cmd.nib, facts, at)
    except InvalidInput as exc:
        assert exc.rule == "not_ikm"
        return
    assert model._built_as_validated(cmd.nib, facts, at)
    with validated_always():
        validated = Enterprise.register(cmd.nib, facts, at)
    assert_same(fast.state, validated.state)
    for store, validated_store in zip(
        fast.state.marketplace_stores, validated.state.marketplace_stores, strict=True
    ):
        assert_same(store, validated_store)
    assert len(fast.events) == len(validated.events)
    for event, validated_event in zip(fast.events, validated.events, strict=True):
        assert_same(event, validated_event)
        assert codec.event_payload(event) == codec.event_payload(validated_event)
    assert_same(fast.events[0].owner, validated.events[0].owner)  # type: ignore[attr-defined]
    # Nothing shared that one could change under the other.
    assert fast.events[0].campaigns is not fast.state.campaigns  # type: ignore[attr-defined]
    assert fast.state.products is not facts.products


def facts(**overrides: object) -> EnterpriseFacts:
    base = {
        "name": "CV Maju", "legal_form": "CV", "owner_name": "Budi", "province": "34",
        "regency": "3471", "kbli": "29300", "workforce": 10, "investment_rupiah": 500_000_000,
        "marketplace_stores": [MarketplaceStore(platform="shopee", shop_url="https://s.id/a")],
    }  # fmt: skip
    return EnterpriseFacts.model_validate({**base, **overrides})


def test_a_clean_registration_validates_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: object, **__: object) -> None:
        raise AssertionError("validated again")

    for built in (Enterprise, EnterpriseRegistered, OwnerContact, EnterpriseOnboardedToMarketplace):
        monkeypatch.setattr(built, "__init__", refused)
    changed = Enterprise.register("1234567890123", facts(), datetime(2026, 3, 2, tzinfo=UTC))
    assert [type(e) for e in changed.events] == [
        EnterpriseRegistered,
        EnterpriseOnboardedToMarketplace,
    ]


@pytest.mark.parametrize(
    ("nib", "overrides"),
    [
        ("12", {}),
        ("123456789012X", {}),
        ("1234567890123", {"province": "99", "regency": "9901"}),
        ("1234567890123", {"regency": "34710"}),
        ("1234567890123", {"kbli": "2930"}),
    ],
)
def test_unchecked_codes_are_refused_as_before(nib: str, overrides: dict[str, str]) -> None:
    """Facts no rule looked at (built straight from a dict) are validated as they always were."""
    at = datetime(2026, 3, 2, tzinfo=UTC)
    assert not model._built_as_validated(nib, facts(**overrides), at)
    with pytest.raises(ValidationError):
        Enterprise.register(nib, facts(**overrides), at)


# --- the rules of a clean row and of a broken one ------------------------------------------


def test_a_clean_row_runs_every_rule_without_the_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped: list[object] = []
    original = Violations.check
    monkeypatch.setattr(
        Violations, "check", lambda self, rule, *a: wrapped.append(rule) or original(self, rule, *a)
    )
    ran: list[str] = []
    for name in ("check_nik", "check_phone", "check_regency", "check_campaigns"):
        rule = getattr(facts_module.rules, name)
        monkeypatch.setattr(
            facts_module, "_TYPED_RULES", tuple(
                (key, _spy(ran, name, rule) if check is rule else check, args, empty)
                for key, check, args, empty in facts_module._TYPED_RULES
            ),
        )  # fmt: skip
    data = RegisterEnterprise.model_validate(
        {**facts().model_dump(exclude={"marketplace_stores": {"__all__": {"onboarded_at"}}}),
         "nib": "1234567890123", "owner_nik": "3471010105900001",
         "owner_phone": "081200000000", "campaigns": ["BBI"]}
    ).model_dump()  # fmt: skip
    fields = EnterpriseFacts.check_fields(data, Violations(), typed=True)
    assert wrapped == []
    assert ran == ["check_nik", "check_phone", "check_regency", "check_campaigns"]
    assert fields["owner_phone"] == "+6281200000000" and fields["campaigns"] == ["#BBI"]


def _spy(ran: list[str], name: str, rule: Any) -> Any:
    def spied(*args: Any) -> Any:
        ran.append(name)
        return rule(*args)

    return spied


_VALUES = {
    "province": ["34", "99", "", None],
    "regency": ["3471", "3374", "34", None],
    "name": ["CV Maju", "  ", None],
    "legal_form": ["cv", "LLC", None],
    "owner_name": ["Budi", "", None],
    "owner_nik": ["3471010105900001", "3471010105900000", "12", "", None],
    "owner_phone": ["081200000000", "12", "", None],
    "owner_email": ["budi@example.id", "budi@", "", None],
    "preferred_language": ["en", "fr", None],
    "street": ["Jl. Malioboro", "x" * 3000, None],
    "postal_code": ["55231", "5523", "", None],
    "kbli": ["29300", "47111", "2930", None],
    "workforce": [0, -1, None],
    "investment_rupiah": [0, -5, None],
    "products": [["a"], [" "], None],
    "campaigns": [["#BBI", "BBI"], ["no spaces"], None],
    "marketplace_stores": [[{"platform": "shopee", "shop_url": "https://s.id"}],
                           [{"platform": "ebay", "shop_url": "ftp://x"}], None],
}  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _VALUES.items()}), st.booleans())
def test_every_broken_rule_is_named_as_each_rule_alone_names_it(
    data: dict[str, Any], typed: bool
) -> None:
    """``check_fields`` answers what the rules, each run on its own, answer: the same fields
    and every violation, in the same order, with the same message."""
    violations, alone = Violations(), Violations()
    fields = EnterpriseFacts.check_fields(data, violations, typed=typed)
    assert fields == _each_rule_alone(data, alone, typed=typed)
    assert [(v.field, v.rule, str(v)) for v in violations.found] == [
        (v.field, v.rule, str(v)) for v in alone.found
    ]


def _each_rule_alone(data: dict[str, Any], violations: Violations, *, typed: bool) -> Any:
    """``check_fields`` as it was before session 19: every rule through ``Violations.check``."""

    def rule(key: str, check: Any, *args: Any) -> Any:
        value = data.get(key)
        return value if value is None else violations.check(check, value, *args)

    def optional(key: str, check: Any) -> Any:
        return data.get(key) and rule(key, check)

    def shared(key: str, check: Any) -> Any:
        return data.get(key) if typed else rule(key, check)

    rules = facts_module.rules
    province = shared("province", rules.check_province)
    return {
        "name": rule("name", rules.check_text, "name"),
        "legal_form": rule("legal_form", rules.check_legal_form),
        "owner_name": rule("owner_name", rules.check_text, "owner_name"),
        "owner_nik": optional("owner_nik", rules.check_nik),
        "owner_phone": optional("owner_phone", rules.check_phone),
        "owner_email": data.get("owner_email") and shared("owner_email", rules.check_email),
        "preferred_language": shared("preferred_language", rules.check_language),
        "street": rule("street", rules.check_street),
        "postal_code": optional("postal_code", rules.check_postal_code),
        "province": province,
        "regency": province and rule("regency", rules.check_regency, province),
        "kbli": rule("kbli", rules.check_manufacturing if typed else rules.check_kbli),
        "workforce": rule("workforce", rules.check_non_negative, "workforce"),
        "investment_rupiah": rule(
            "investment_rupiah", rules.check_non_negative, "investment_rupiah"
        ),
        "products": rule("products", rules.check_products),
        "campaigns": rule("campaigns", rules.check_campaigns),
        "marketplace_stores": rule("marketplace_stores", facts_module._stores),
    }
