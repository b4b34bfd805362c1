"""The registry's partner aggregate: an SMK, company, university, association or foreign
institution that signs MoUs (link-and-match, technical assistance) with the ministry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict

from contracts.registry import PartnerRegistered, PartnerType
from contracts.values import CountryText, EmailText, Language, ProvinceText, RegencyText
from ikmkit.service.errors import Violations
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.registry.domain import link_rules, rules


class Partner(Versioned):
    model_config = ConfigDict(frozen=True)

    partner_id: str
    name: str
    partner_type: PartnerType
    country: CountryText
    province: ProvinceText | None = None
    regency: RegencyText | None = None
    contact_email: EmailText | None = None
    preferred_language: Language = "id"
    memberships: list[str] = []
    member_count: int | None = None
    """Members of an association (associations only)."""
    registered_at: datetime

    @classmethod
    def checked(
        cls, data: dict[str, Any], at: datetime, violations: Violations
    ) -> Changed[Partner] | None:
        """The registration ``data`` asks for after every rule (``None``: see ``violations``);
        ``data`` has the fields of ``RegisterPartner``, its ``partner_id`` given."""
        fields = cls.check_fields(data, violations)
        if violations.found:
            return None
        return cls.register(**{**data, **fields, "registered_at": at})

    @staticmethod
    def check_fields(data: dict[str, Any], violations: Violations) -> dict[str, Any]:
        """Every rule on every field ``data`` has (absent or ``None``: nothing to check)."""

        def rule(key: str, check: Any, *args: Any) -> Any:
            value = data.get(key)
            return value if value is None else violations.check(check, value, *args)

        partner_id = rule("partner_id", link_rules.check_partner_id)
        country = rule("country", link_rules.check_country)
        region = country and violations.check(
            link_rules.check_partner_region, country, data.get("province"), data.get("regency")
        )
        kind = data.get("partner_type")
        return {
            "partner_id": partner_id,
            "country": country,
            "province": region[0] if region else None,
            "regency": region[1] if region else None,
            "name": rule("name", rules.check_text, "name"),
            "member_count": kind and rule("member_count", link_rules.check_member_count, kind),
        }

    @classmethod
    def register(cls, **fields: Any) -> Changed[Partner]:
        p = cls(**fields)
        registered = PartnerRegistered(
            partner_id=p.partner_id, name=p.name, partner_type=p.partner_type, country=p.country,
            province=p.province, regency=p.regency, contact_email=p.contact_email,
            preferred_language=p.preferred_language, member_count=p.member_count,
            registered_at=p.registered_at,
        )  # fmt: skip
        return Changed(p, (registered,))
