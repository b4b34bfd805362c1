"""What a registration or an update says about an enterprise (``EnterpriseFacts``), its
marketplace stores, and the rules every field passes before it is one (``check_fields``).

A clean row's rules are called as they are, while none breaks; only a row that breaks one
runs them all again through ``Violations``, to name every rule it breaks (rules are pure).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict

from contracts.values import EmailText, KbliText, Language, ProvinceText, RegencyText, documented
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.limits import COUNT_MAX, RUPIAH_MAX
from services.registry.domain import rules

MaskedNik = Annotated[
    str,
    documented(
        "The owner's NIK (16 digits); systems (role service, partner) see it masked, the"
        " middle 8 digits as * (3201********0001)",
        pattern=r"^\d{4}[\d*]{8}\d{4}$",
        minLength=16,
        maxLength=16,
    ),
]


class MarketplaceStore(BaseModel):
    """e-Smart IKM: a shop of the enterprise on an e-commerce platform."""

    model_config = ConfigDict(frozen=True)

    platform: str
    shop_url: str
    onboarded_at: datetime | None = None

    def key(self) -> tuple[str, str]:
        return (self.platform, self.shop_url.rstrip("/"))


def _stores(stores: list[dict[str, Any]]) -> list[MarketplaceStore]:
    """The stores checked, each shop once (first spelling kept): a shop named twice (another
    case of its platform, a final ``/``) was stored twice and onboarded twice, an e-Smart
    onboarding counted and notified twice."""
    rules.check_count(stores, "marketplace_stores")
    unique: dict[tuple[str, str], MarketplaceStore] = {}
    for given in stores:
        store = rules.check_store(MarketplaceStore.model_validate(given))
        unique.setdefault(store.key(), store)
    return list(unique.values())


class EnterpriseFacts(BaseModel):
    """What a registration or an update says about an enterprise (already validated)."""

    model_config = ConfigDict(frozen=True)

    name: str
    legal_form: str
    owner_name: str
    owner_nik: MaskedNik | None = None
    owner_phone: str | None = None
    owner_email: EmailText | None = None
    preferred_language: Language = "id"
    street: str = ""
    postal_code: str | None = None
    province: ProvinceText
    regency: RegencyText
    kbli: KbliText
    workforce: Annotated[int, documented(minimum=0, maximum=COUNT_MAX)]
    investment_rupiah: Annotated[int, documented(minimum=0, maximum=RUPIAH_MAX)]
    products: list[str] = []
    campaigns: list[str] = []
    marketplace_stores: list[MarketplaceStore] = []

    @classmethod
    def checked(
        cls, data: dict[str, Any], violations: Violations, *, typed: bool = False
    ) -> EnterpriseFacts | None:
        """The facts in ``data`` after every rule; ``None`` (and ``violations``) if any broke.
        ``typed``: see ``check_fields``."""
        fields = cls.check_fields(data, violations, typed=typed)
        return None if violations.found else cls.model_validate(fields)

    @staticmethod
    def check_fields(
        data: dict[str, Any], violations: Violations, *, typed: bool = False
    ) -> dict[str, Any]:
        """Every rule on every field ``data`` has (absent or ``None``: nothing to check).
        ``typed``: ``data`` comes from a request model whose shared value types (``Email``,
        ``ProvinceCode``, ``Kbli``, ``Language``) already applied the platform's rule to each
        value; it is applied once, so here only the registry's own rules run on those."""
        table = _TYPED_RULES if typed else _RULES
        try:
            return run_rules(data, table, None)
        except InvalidInput:
            # Rules are pure: run them all again, each on its own, to name every one broken.
            return run_rules(data, table, violations)


type Rule = tuple[str, Any, tuple[Any, ...], bool]
"""A field, its rule (``None``: taken as it is), the rule's other arguments, and whether an
empty value (``""``, ``[]``) is no value, taken as it is."""
REGENCY = "regency"
"""The field whose rule also takes the province (as its rule returned it)."""


def run_rules(
    data: dict[str, Any], table: tuple[Rule, ...], violations: Violations | None
) -> dict[str, Any]:
    """The fields as the rules return them. Without ``violations`` each rule is called as it
    is (a clean row pays no wrapper) and the first broken one raises; with it, every rule
    runs and each broken one is kept there (its field: ``None``)."""
    fields: dict[str, Any] = {}
    for key, check, given, empty_is_none in table:
        value = data.get(key)
        args = given
        if key == REGENCY:  # only in a province that passed its rule
            province = fields["province"]
            if not province or value is None:
                fields[key] = province and value
                continue
            args = (province,)
        if check is None or value is None or (empty_is_none and not value):
            fields[key] = value
        elif violations is None:
            fields[key] = check(value, *args)
        else:
            fields[key] = violations.check(check, value, *args)
    return fields


def _rules(typed: bool) -> tuple[Rule, ...]:
    """The rules of ``check_fields``, in the order they run (so violations are named in it)."""

    def shared(check: Any) -> Any:
        return None if typed else check

    return (
        ("province", shared(rules.check_province), (), False),
        ("name", rules.check_text, ("name",), False),
        ("legal_form", rules.check_legal_form, (), False),
        ("owner_name", rules.check_text, ("owner_name",), False),
        ("owner_nik", rules.check_nik, (), True),
        ("owner_phone", rules.check_phone, (), True),
        ("owner_email", shared(rules.check_email), (), True),
        ("preferred_language", shared(rules.check_language), (), False),
        ("street", rules.check_street, (), False),
        ("postal_code", rules.check_postal_code, (), True),
        (REGENCY, rules.check_regency, (), False),
        ("kbli", rules.check_manufacturing if typed else rules.check_kbli, (), False),
        ("workforce", rules.check_non_negative, ("workforce",), False),
        ("investment_rupiah", rules.check_non_negative, ("investment_rupiah",), False),
        ("products", rules.check_products, (), False),
        ("campaigns", rules.check_campaigns, (), False),
        ("marketplace_stores", _stores, (), False),
    )


_RULES, _TYPED_RULES = _rules(typed=False), _rules(typed=True)
