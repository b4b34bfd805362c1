"""Registry domain rules: pure, no I/O.

Enterprises (IKM), partners and MoUs, their validation rules and their lifecycles. Every
rule violation names the field and the rule (``InvalidInput(msg, field=, rule=)``);
a transition the lifecycle does not allow is a ``Conflict``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlsplit

from lokal import parse_nik, parse_phone
from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from contracts import values
from contracts.registry import (
    Directorate,
    EnterpriseStatus,
    Language,
    MoUParty,
    MoUScope,
    PartnerType,
    SizeClass,
)
from ikmkit.service import limits
from ikmkit.service.errors import Conflict, InvalidInput
from services.registry import regions

MINISTRY_PARTY = "ministry"
"""The ministry's ``partner_id`` when it is a party to or a witness of an MoU."""

LEGAL_FORMS = ("PT", "CV", "UD", "firma", "koperasi", "perorangan", "PT_perorangan", "yayasan")
MARKETPLACES = (
    "tokopedia",
    "shopee",
    "bukalapak",
    "blibli",
    "blanja",
    "gojek",
    "lazada",
    "tiktok_shop",
    "other",
)
MoUStatus = Literal["draft", "signed", "expired", "terminated"]

_NIB = re.compile(r"^\d{13}$")
_KBLI = re.compile(r"^\d{5}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_CAMPAIGN = re.compile(r"^#?[A-Za-z0-9_]{2,64}$")

MANUFACTURING_DIVISIONS = range(10, 34)
"""KBLI section C (manufacturing): divisions 10-33."""


# --- single-field rules -------------------------------------------------------------------


def check_nib(nib: str, field: str = "nib") -> str:
    if not _NIB.match(nib):
        raise InvalidInput("NIB must be exactly 13 digits", field=field, rule="nib_format")
    return nib


def check_nik(nik: str, field: str = "owner_nik") -> str:
    """NIK: 16 digits = Kemendagri district of issue (6) + birth date DDMMYY (women: day+40)
    + serial (4). There is no check digit, so that is all a structure check can prove."""
    info = parse_nik(nik)
    if info.nik is None or info.nik != nik:
        raise InvalidInput("NIK must be exactly 16 digits", field=field, rule="nik_length")
    codes = {issue.code for issue in info.errors}
    if "birth_date" in codes:
        raise InvalidInput(
            "NIK digits 7-12 must be a birth date DDMMYY (women: day + 40)",
            field=field,
            rule="nik_birth_date",
        )
    if "serial" in codes:
        raise InvalidInput(
            "NIK serial (last 4 digits) cannot be 0000", field=field, rule="nik_serial"
        )
    if codes or not _district_of_issue_exists(nik[:6]):
        raise InvalidInput(
            f"NIK digits 1-6 ({nik[:6]}) are not a Kemendagri district code",
            field=field,
            rule="nik_district",
        )
    return nik


def _district_of_issue_exists(code: str) -> bool:
    # A NIK keeps the code it was issued with; after the 2022 Papua split those old codes may
    # be gone from the current table, so there only the province is checked.
    return regions.is_district(code) or (
        code[:2] in regions.PROVINCES_SPLIT_IN_2022 and code[2:4] != "00" and code[4:] != "00"
    )


def check_phone(phone: str, field: str = "owner_phone") -> str:
    """An Indonesian phone number, any common spelling; returns it in E.164 (+62...)."""
    info = parse_phone(phone)
    if not info.valid or info.e164 is None:
        raise InvalidInput(
            "phone must be an Indonesian number (0812..., +62812..., (021) ...)",
            field=field,
            rule="phone_format",
        )
    return info.e164


def check_email(email: str, field: str = "owner_email") -> str:
    """The platform's one e-mail rule (``values.normalize_email``), as a domain error."""
    try:
        return values.normalize_email(email)
    except PydanticCustomError as exc:
        raise InvalidInput(exc.message(), field=field, rule=exc.type) from None


def check_province(province: str, field: str = "province") -> str:
    if not regions.is_province(province):
        raise InvalidInput(
            f"province {province!r} is not one of the 38 Kemendagri province codes",
            field=field,
            rule="province_unknown",
        )
    return province


def check_regency(regency: str, province: str, field: str = "regency") -> str:
    if not regions.is_regency(regency):
        raise InvalidInput(
            f"regency {regency!r} is not a Kemendagri regency/city code (4 digits)",
            field=field,
            rule="regency_unknown",
        )
    if not regions.regency_in_province(regency, province):
        raise InvalidInput(
            f"regency {regency} does not belong to province {province}",
            field=field,
            rule="regency_not_in_province",
        )
    return regency


def check_kbli(kbli: str, field: str = "kbli") -> str:
    if not _KBLI.match(kbli):
        raise InvalidInput("KBLI must be exactly 5 digits", field=field, rule="kbli_format")
    if int(kbli[:2]) not in MANUFACTURING_DIVISIONS:
        raise InvalidInput(
            f"KBLI {kbli} is not manufacturing (section C, divisions 10-33)",
            field=field,
            rule="kbli_not_manufacturing",
        )
    return kbli


def check_legal_form(legal_form: str, field: str = "legal_form") -> str:
    for known in LEGAL_FORMS:
        if legal_form.casefold() == known.casefold():
            return known
    raise InvalidInput(
        f"legal form must be one of {', '.join(LEGAL_FORMS)}", field=field, rule="legal_form"
    )


def check_non_negative(value: int, field: str) -> int:
    if value < 0:
        raise InvalidInput(f"{field} cannot be negative", field=field, rule="non_negative")
    return value


def check_text(value: str, field: str, *, max_length: int = 200) -> str:
    stripped = value.strip()
    if not stripped:
        raise InvalidInput(f"{field} cannot be empty", field=field, rule="required")
    if len(stripped) > max_length:
        raise InvalidInput(
            f"{field} is longer than {max_length} characters", field=field, rule="max_length"
        )
    return stripped


def check_postal_code(code: str, field: str = "postal_code") -> str:
    if not _POSTAL_CODE.match(code):
        raise InvalidInput("postal code must be 5 digits", field=field, rule="postal_code_format")
    return code


def check_street(street: str | None, field: str = "street") -> str:
    text = (street or "").strip()
    if len(text) > limits.TEXT_MAX:
        raise InvalidInput(
            f"{field} is longer than {limits.TEXT_MAX} characters", field=field, rule="max_length"
        )
    return text


def check_count[T](items: Sequence[T], field: str, *, max_items: int = limits.ITEMS_MAX) -> None:
    if len(items) > max_items:
        raise InvalidInput(
            f"{field} has {len(items)} items; at most {max_items} are allowed",
            field=field,
            rule="max_items",
        )


def check_campaigns(campaigns: Sequence[str], field: str = "campaigns") -> list[str]:
    """Campaign tags such as ``#SemuanyaAdaDisini``, stored with their ``#``, deduplicated
    in first-seen order (a dict: linear in the number of tags)."""
    check_count(campaigns, field)
    tags: dict[str, None] = {}
    for tag in campaigns:
        if not _CAMPAIGN.match(tag):
            raise InvalidInput(
                f"campaign {tag!r} must be a hashtag of letters, digits or _",
                field=field,
                rule="campaign_format",
            )
        tags.setdefault(tag if tag.startswith("#") else f"#{tag}")
    return list(tags)


def check_products(products: Sequence[str], field: str = "products") -> list[str]:
    check_count(products, field)
    return [check_text(p, field, max_length=120) for p in products]


# --- derived values -----------------------------------------------------------------------


def directorate_for(kbli: str) -> Directorate:
    """The Ditjen IKMA directorate that owns a manufacturing KBLI code (by its division).

    - food, beverages, tobacco, wood, furniture (10-12, 16, 31): IKM Pangan, Barang dari Kayu
      dan Furnitur;
    - textiles, apparel, leather, paper, printing, chemicals, pharma, rubber, non-metallic
      minerals, other manufacturing/crafts (13-15, 17-23, 32): IKM Kimia, Sandang dan Kerajinan;
    - metals, electronics, machinery, vehicles, repair (24-30, 33): IKM Logam, Mesin,
      Elektronika dan Alat Angkutan (LMEA).
    """
    division = int(kbli[:2])
    if division in (10, 11, 12, 16, 31):
        return "food_furniture_wood"
    if division in (13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 32):
        return "chemicals_clothing_crafts"
    return "metal_machinery_electronics_transport"


SMALL_MAX_WORKFORCE = 19
SMALL_MAX_INVESTMENT_RUPIAH = 1_000_000_000  # exclusive
MEDIUM_MAX_INVESTMENT_RUPIAH = 15_000_000_000  # inclusive, for 20+ workers


def size_class_for(workforce: int, investment_rupiah: int) -> SizeClass:
    """THE size-class rule (Permenperin 64/M-IND/PER/7/2016; investment excludes land and
    buildings). Every size class in the system comes from here.

    - small: at most 19 workers and investment below Rp1 billion;
    - medium: at most 19 workers and investment of at least Rp1 billion, or at least 20
      workers and investment of at most Rp15 billion;
    - large: at least 20 workers and investment above Rp15 billion (no longer an IKM).
    """
    if workforce <= SMALL_MAX_WORKFORCE:
        return "small" if investment_rupiah < SMALL_MAX_INVESTMENT_RUPIAH else "medium"
    return "medium" if investment_rupiah <= MEDIUM_MAX_INVESTMENT_RUPIAH else "large"


# --- enterprises --------------------------------------------------------------------------


class MarketplaceStore(BaseModel):
    """e-Smart IKM: a shop of the enterprise on an e-commerce platform."""

    model_config = ConfigDict(frozen=True)

    platform: str
    shop_url: str
    onboarded_at: datetime | None = None

    def key(self) -> tuple[str, str]:
        return (self.platform, self.shop_url.rstrip("/"))


def check_store(store: MarketplaceStore, field: str = "marketplace_stores") -> MarketplaceStore:
    platform = store.platform.strip().lower().replace(" ", "_")
    if platform not in MARKETPLACES:
        raise InvalidInput(
            f"platform must be one of {', '.join(MARKETPLACES)}", field=field, rule="platform"
        )
    if len(store.shop_url) > limits.URL_MAX:
        raise InvalidInput(
            f"shop_url is longer than {limits.URL_MAX} characters", field=field, rule="max_length"
        )
    url = urlsplit(store.shop_url.strip())
    if url.scheme not in ("http", "https") or not url.netloc:
        raise InvalidInput("shop_url must be an http(s) URL", field=field, rule="url_format")
    return store.model_copy(update={"platform": platform, "shop_url": store.shop_url.strip()})


class EnterpriseFacts(BaseModel):
    """What a registration or an update says about an enterprise (already validated)."""

    model_config = ConfigDict(frozen=True)

    name: str
    legal_form: str
    owner_name: str
    owner_nik: str | None = None
    owner_phone: str | None = None
    owner_email: str | None = None
    preferred_language: Language = "id"
    street: str = ""
    postal_code: str | None = None
    province: str
    regency: str
    kbli: str
    workforce: int
    investment_rupiah: int
    products: list[str] = []
    campaigns: list[str] = []
    marketplace_stores: list[MarketplaceStore] = []


OWNER_FIELDS = ("owner_name", "owner_nik", "owner_phone", "owner_email", "preferred_language")


class Enterprise(EnterpriseFacts):
    nib: str
    directorate: Directorate
    size_class: SizeClass
    status: EnterpriseStatus = "registered"
    status_reason: str | None = None
    status_before_suspension: EnterpriseStatus | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None
    registered_at: datetime
    updated_at: datetime
    version: int = 0

    @classmethod
    def register(cls, nib: str, facts: EnterpriseFacts, at: datetime) -> Enterprise:
        size_class = size_class_for(facts.workforce, facts.investment_rupiah)
        if size_class == "large":
            raise InvalidInput(
                "workforce and investment make this a large industry, not an IKM",
                field="investment_rupiah",
                rule="not_ikm",
            )
        stores = [s.model_copy(update={"onboarded_at": at}) for s in facts.marketplace_stores]
        return cls(
            **facts.model_dump(exclude={"marketplace_stores"}),
            marketplace_stores=stores,
            nib=nib,
            directorate=directorate_for(facts.kbli),
            size_class=size_class,
            registered_at=at,
            updated_at=at,
        )

    def facts(self) -> EnterpriseFacts:
        return EnterpriseFacts.model_validate(
            self.model_dump(include=set(EnterpriseFacts.model_fields))
        )

    def update(self, facts: EnterpriseFacts, at: datetime) -> EnterpriseChange:
        if facts.province != self.province:
            raise InvalidInput(
                "an enterprise cannot move to another province; register it there",
                field="province",
                rule="province_immutable",
            )
        before = self.facts()
        changed = [
            f for f in EnterpriseFacts.model_fields if getattr(facts, f) != getattr(before, f)
        ]
        known = {s.key(): s for s in self.marketplace_stores}
        stores = [
            known.get(s.key()) or s.model_copy(update={"onboarded_at": at})
            for s in facts.marketplace_stores
        ]
        new_stores = [s for s in stores if s.key() not in known]
        updated = self.model_copy(
            update={
                **facts.model_dump(exclude={"marketplace_stores"}),
                "marketplace_stores": stores,
                "directorate": directorate_for(facts.kbli),
                "size_class": size_class_for(facts.workforce, facts.investment_rupiah),
                "updated_at": at if changed else self.updated_at,
            }
        )
        # model_copy skips validation: re-validate so nested models stay models.
        updated = Enterprise.model_validate(updated.model_dump())
        return EnterpriseChange(self, updated, changed, new_stores)

    def verify(self, by: str, at: datetime) -> Enterprise:
        if self.status != "registered":
            raise Conflict(
                f"only a registered enterprise can be verified; this one is {self.status}",
                field="status",
                rule="not_registered",
            )
        return self.model_copy(
            update={"status": "active", "verified_by": by, "verified_at": at, "updated_at": at}
        )

    def suspend(self, reason: str, at: datetime) -> Enterprise:
        if self.status == "suspended":
            raise Conflict("the enterprise is already suspended", field="status", rule="suspended")
        return self.model_copy(
            update={
                "status": "suspended",
                "status_reason": check_text(reason, "reason", max_length=500),
                "status_before_suspension": self.status,
                "updated_at": at,
            }
        )

    def reinstate(self, reason: str, at: datetime) -> Enterprise:
        if self.status != "suspended":
            raise Conflict(
                f"only a suspended enterprise can be reinstated; this one is {self.status}",
                field="status",
                rule="not_suspended",
            )
        return self.model_copy(
            update={
                "status": self.status_before_suspension or "registered",
                "status_reason": check_text(reason, "reason", max_length=500),
                "status_before_suspension": None,
                "updated_at": at,
            }
        )


@dataclass(frozen=True)
class EnterpriseChange:
    before: Enterprise
    after: Enterprise
    changed_fields: list[str]
    new_stores: list[MarketplaceStore]

    @property
    def class_changed(self) -> bool:
        return self.before.size_class != self.after.size_class

    @property
    def owner_changed(self) -> bool:
        return any(f in OWNER_FIELDS for f in self.changed_fields)


# --- partners -----------------------------------------------------------------------------


class Partner(BaseModel):
    model_config = ConfigDict(frozen=True)

    partner_id: str
    name: str
    partner_type: PartnerType
    country: str
    province: str | None = None
    regency: str | None = None
    contact_email: str | None = None
    preferred_language: Language = "id"
    memberships: list[str] = []
    registered_at: datetime
    version: int = 0


def check_partner_id(partner_id: str, field: str = "partner_id") -> str:
    if partner_id == MINISTRY_PARTY:
        raise InvalidInput(
            "'ministry' is reserved for the ministry itself", field=field, rule="reserved"
        )
    if not _PARTNER_ID.match(partner_id):
        raise InvalidInput(
            "partner id must be 2-64 lowercase letters, digits or '-'",
            field=field,
            rule="partner_id_format",
        )
    return partner_id


def check_country(country: str, field: str = "country") -> str:
    code = country.strip().upper()
    if not _COUNTRY.match(code):
        raise InvalidInput(
            "country must be an ISO 3166-1 alpha-2 code (ID, IN, LK, ...)",
            field=field,
            rule="country_format",
        )
    return code


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
        check_province(province)
        if regency:
            check_regency(regency, province)
    return province, regency


# --- MoUs ---------------------------------------------------------------------------------


class MoU(BaseModel):
    model_config = ConfigDict(frozen=True)

    mou_id: str
    title: str
    scope: MoUScope
    parties: list[MoUParty]
    valid_from: date
    valid_until: date
    signed_on: date | None = None
    document_ref: str | None = None
    status: MoUStatus = "draft"
    termination_reason: str | None = None
    terminated_by: str | None = None
    created_by: str
    created_at: datetime
    signed_at: datetime | None = None
    expired_at: datetime | None = None
    terminated_at: datetime | None = None
    version: int = 0

    def party_ids(self) -> list[str]:
        return [p.partner_id for p in self.parties]

    def sign(self, signed_on: date, document_ref: str, today: date, at: datetime) -> MoU:
        if self.status != "draft":
            raise Conflict(
                f"only a draft MoU can be signed; this one is {self.status}",
                field="status",
                rule="not_draft",
            )
        if self.valid_until < today:
            raise InvalidInput(
                f"the MoU ended on {self.valid_until}; an expired MoU cannot be signed",
                field="valid_until",
                rule="mou_expired",
            )
        if signed_on > today:
            raise InvalidInput(
                "signed_on cannot be in the future", field="signed_on", rule="future_date"
            )
        if signed_on > self.valid_until:
            raise InvalidInput(
                "signed_on is after the MoU's end date", field="signed_on", rule="after_end"
            )
        return self.model_copy(
            update={
                "status": "signed",
                "signed_on": signed_on,
                "document_ref": check_text(document_ref, "document_ref"),
                "signed_at": at,
            }
        )

    def is_due_to_expire(self, today: date) -> bool:
        """A signed MoU expires once its end date has passed (the end date itself is valid)."""
        return self.status == "signed" and self.valid_until < today

    def expire(self, at: datetime) -> MoU:
        if not self.is_due_to_expire(at.date()):
            raise Conflict(
                f"MoU {self.mou_id} is not due to expire", field="status", rule="not_due"
            )
        return self.model_copy(update={"status": "expired", "expired_at": at})

    def terminate(self, reason: str, by: str, at: datetime) -> MoU:
        if self.status != "signed":
            raise Conflict(
                f"only a signed MoU can be terminated; this one is {self.status}",
                field="status",
                rule="not_signed",
            )
        return self.model_copy(
            update={
                "status": "terminated",
                "termination_reason": check_text(reason, "reason", max_length=500),
                "terminated_by": by,
                "terminated_at": at,
            }
        )


def check_mou_terms(
    parties: Sequence[MoUParty], valid_from: date, valid_until: date, title: str
) -> None:
    """Two or more parties, the ministry taking part (as a party or a witness), no one twice,
    and an end after the start."""
    check_text(title, "title")
    ids = [p.partner_id for p in parties]
    if len(set(ids)) != len(ids):
        raise InvalidInput(
            "a partner appears twice among the parties", field="parties", rule="duplicate_party"
        )
    if sum(1 for p in parties if p.role == "party") < 2:
        raise InvalidInput("an MoU needs at least two parties", field="parties", rule="min_parties")
    if MINISTRY_PARTY not in ids:
        raise InvalidInput(
            "the ministry ('ministry') must take part, as a party or as a witness",
            field="parties",
            rule="ministry_missing",
        )
    if valid_until <= valid_from:
        raise InvalidInput(
            "valid_until must be after valid_from", field="valid_until", rule="end_before_start"
        )


def non_ministry_parties(parties: Iterable[MoUParty]) -> Iterator[str]:
    return (p.partner_id for p in parties if p.partner_id != MINISTRY_PARTY)
