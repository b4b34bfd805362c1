"""The registry's rules of partners and MoUs (link and match): ids, countries and regions,
member counts, an MoU's terms. Pure functions, as ``rules``: they return the value as stored
or raise ``InvalidInput`` naming the field and the rule."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from contracts import values
from contracts.registry import MINISTRY_PARTY_ID, MoUParty
from ikmkit.service import limits
from ikmkit.service.errors import InvalidInput, Violations, checked
from services.registry.domain import rules

# Matched with fullmatch, in ASCII (see ``rules``): one spelling of one id.
_PARTNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")


def check_partner_id(partner_id: str, field: str = "partner_id") -> str:
    if partner_id == MINISTRY_PARTY_ID:
        raise InvalidInput(
            "'ministry' is reserved for the ministry itself", field=field, rule="reserved"
        )
    if not _PARTNER_ID.fullmatch(partner_id):
        raise InvalidInput(
            "partner id must be 2-64 lowercase letters, digits or '-'",
            field=field,
            rule="partner_id_format",
        )
    return partner_id


def check_mou_id(mou_id: str, field: str = "mou_id") -> str:
    if not _PARTNER_ID.fullmatch(mou_id):
        raise InvalidInput(
            "an MoU id must be 2-64 lowercase letters, digits or '-'",
            field=field,
            rule="mou_id_format",
        )
    return mou_id


def check_country(country: str, field: str = "country") -> str:
    # The platform's ISO 3166-1 list; the registry has always called the rule country_format.
    return checked(values.CountryCode, country, field, rule="country_format")


def check_partner_region(
    country: str, province: str | None, regency: str | None
) -> tuple[str | None, str | None]:
    if country != "ID" and (province or regency):
        raise InvalidInput(
            "only Indonesian partners have a province", field="province", rule="foreign_region"
        )
    if regency and not province:
        raise InvalidInput("a regency needs its province", field="province", rule="required")
    if province:
        rules.check_province(province)
        if regency:
            rules.check_regency(regency, province)
    return province, regency


def check_member_count(count: int, partner_type: str, field: str = "member_count") -> int:
    """Only an association counts members (PII BKTI: its member universities)."""
    if partner_type != "association":
        raise InvalidInput(
            "only an association has a member count", field=field, rule="not_an_association"
        )
    return rules.check_non_negative(count, field)


def check_mou_region(province: str | None, regency: str | None) -> tuple[str | None, str | None]:
    """Where an MoU is carried out: a province, and optionally a regency/city in it."""
    return check_partner_region("ID", province, regency)


def check_mou_terms(
    parties: Sequence[MoUParty] | None,
    valid_from: date | None,
    valid_until: date | None,
    title: str | None,
) -> None:
    """Two or more parties, the ministry taking part (as a party or a witness), no one twice,
    and an end after the start, both in the platform's years; every broken term is named. A
    term that is ``None`` (refused by the request model) is not checked."""
    found = Violations()
    if title is not None:
        found.check(rules.check_text, title, "title")
    if parties is not None:
        found.check(_check_parties, parties)
    for field, day in (("valid_from", valid_from), ("valid_until", valid_until)):
        if day is not None:
            found.check(check_year, day, field)
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        found.found.append(
            InvalidInput(
                "valid_until must be after valid_from", field="valid_until", rule="end_before_start"
            )
        )
    found.raise_all()


def _check_parties(parties: Sequence[MoUParty]) -> None:
    ids = [p.partner_id for p in parties]
    if len(set(ids)) != len(ids):
        raise InvalidInput(
            "a partner appears twice among the parties", field="parties", rule="duplicate_party"
        )
    if sum(1 for p in parties if p.role == "party") < 2:
        raise InvalidInput("an MoU needs at least two parties", field="parties", rule="min_parties")
    if MINISTRY_PARTY_ID not in ids:
        raise InvalidInput(
            "the ministry ('ministry') must take part, as a party or as a witness",
            field="parties",
            rule="ministry_missing",
        )


def check_year(day: date, field: str) -> date:
    """A date of the platform's years (its programs' fiscal years, 2000-2100)."""
    if not limits.YEAR_MIN <= day.year <= limits.YEAR_MAX:
        raise InvalidInput(
            f"{field} must lie in the years {limits.YEAR_MIN}-{limits.YEAR_MAX}",
            field=field,
            rule="date_out_of_range",
        )
    return day


def non_ministry_parties(parties: Iterable[MoUParty]) -> Iterator[str]:
    return (p.partner_id for p in parties if p.partner_id != MINISTRY_PARTY_ID)
