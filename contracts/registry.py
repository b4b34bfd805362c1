"""Events published by the registry service (enterprises, partners, MoUs).

Topics (key = aggregate id):
- ``ikm.registry.enterprise.v1``: key NIB; ``ce_region`` = province code;
- ``ikm.registry.partner.v1``: key partner id;
- ``ikm.registry.mou.v1``: key MoU id.

Region codes are Kemendagri codes (those of the NIK): province 2 digits,
regency/city 4 digits starting with the province code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Event, PersonalStr
from contracts.values import Kbli, Language, Nib, ProvinceCode, RegencyCode

ENTERPRISE_TOPIC = "ikm.registry.enterprise.v1"
PARTNER_TOPIC = "ikm.registry.partner.v1"
MOU_TOPIC = "ikm.registry.mou.v1"

SizeClass = Literal["small", "medium", "large"]
EnterpriseStatus = Literal["registered", "verified", "active", "suspended"]
Directorate = Literal[
    "food_furniture_wood",
    "chemicals_clothing_crafts",
    "metal_machinery_electronics_transport",
]
PartnerType = Literal[
    "association",
    "foundation",
    "company",
    "vocational_school",
    "university",
    "government_unit",
    "foreign_government",
    "international_body",
]
MoUScope = Literal[
    "technical_assistance",
    "training",
    "supply_chain_partnership",
    "vocational_link_and_match",
]


class _EnterpriseEvent(Event):
    TOPIC: ClassVar[str] = ENTERPRISE_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "nib"
    REGION_FIELD: ClassVar[str | None] = "province"

    nib: Nib
    province: ProvinceCode


class OwnerContact(BaseModel):
    """The owner's contact details; personal data (UU PDP)."""

    model_config = ConfigDict(frozen=True)

    name: PersonalStr
    email: PersonalStr | None = None
    phone: PersonalStr | None = None
    preferred_language: Language = "id"


class EnterpriseRegistered(_EnterpriseEvent):
    """An IKM was registered (status ``registered``, awaiting verification)."""

    name: str
    legal_form: str = "perorangan"
    regency: RegencyCode
    kbli: Kbli
    directorate: Directorate
    size_class: SizeClass
    workforce: int = 0
    investment_rupiah: int = 0
    owner: OwnerContact
    registered_at: datetime
    campaigns: list[str] = Field(
        default_factory=list, description="Campaign tags, e.g. #SemuanyaAdaDisini (optional)."
    )


class EnterpriseUpdated(_EnterpriseEvent):
    """Fields of an enterprise changed; carries the new values of the fields consumers replicate."""

    name: str
    regency: RegencyCode
    kbli: Kbli
    directorate: Directorate
    size_class: SizeClass
    workforce: int
    investment_rupiah: int
    changed_fields: list[str]
    owner: OwnerContact | None = None
    """The owner's contact details, present only when one of them changed."""
    updated_at: datetime
    legal_form: str | None = None
    campaigns: list[str] = Field(
        default_factory=list, description="Campaign tags after the update (optional)."
    )


class EnterpriseVerified(_EnterpriseEvent):
    """A regional officer of the enterprise's province (or the ministry) verified it; it is
    now ``active`` (verification activates the enterprise at once)."""

    status: EnterpriseStatus = "active"
    verified_by: str
    verified_at: datetime


class EnterpriseSuspended(_EnterpriseEvent):
    """The enterprise may not take part in programs until it is reinstated."""

    reason: str
    suspended_by: str
    suspended_at: datetime


class EnterpriseReinstated(_EnterpriseEvent):
    """Suspension lifted; ``status`` is the status it had before (``active`` or ``registered``)."""

    reason: str
    status: EnterpriseStatus = "active"
    reinstated_by: str
    reinstated_at: datetime


class EnterpriseClassChanged(_EnterpriseEvent):
    """Naik kelas (or the reverse): the size class derived from the enterprise's figures changed."""

    previous_class: SizeClass
    new_class: SizeClass
    changed_at: datetime


class EnterpriseOnboardedToMarketplace(_EnterpriseEvent):
    """e-Smart IKM: the enterprise opened a store on an e-commerce platform."""

    platform: str
    shop_url: str
    onboarded_at: datetime


class PartnerRegistered(Event):
    """A partner organisation (association, foundation, company, SMK, university, government
    unit, foreign government or international body) was registered."""

    TOPIC: ClassVar[str] = PARTNER_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "partner_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    partner_id: str
    name: str
    partner_type: PartnerType
    country: str  # not CountryCode: partners were published with any two letters
    province: ProvinceCode | None = None
    contact_email: PersonalStr | None = None
    preferred_language: Language = "id"
    registered_at: datetime
    regency: RegencyCode | None = None
    member_count: int | None = Field(
        None, ge=0, description="Members of an association (optional), e.g. PII BKTI's ~290."
    )


MINISTRY_PARTY_ID = "ministry"
"""The ``partner_id`` of the ministry itself when it is a party to an MoU."""


class MoUParty(BaseModel):
    """A party to an MoU: the ministry (``partner_id`` = ``ministry``) or a registered partner."""

    model_config = ConfigDict(frozen=True)

    partner_id: str
    role: Literal["party", "witness"] = "party"


class MoUSigned(Event):
    """A draft MoU was signed; it is valid from ``valid_from`` to ``valid_until`` inclusive."""

    TOPIC: ClassVar[str] = MOU_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "mou_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    mou_id: str
    title: str
    scope: MoUScope
    parties: list[MoUParty]
    valid_from: date
    valid_until: date
    signed_on: date
    document_ref: str
    signed_at: datetime
    province: ProvinceCode | None = Field(
        None, description="Province the MoU is carried out in (optional; none: national)."
    )
    regency: RegencyCode | None = Field(
        None, description="Regency/city within the province (optional)."
    )


class MoUExpired(Event):
    """The MoU's end date passed (emitted by the registry's expiry task the day after
    ``valid_until``); everything it covered ends."""

    TOPIC: ClassVar[str] = MOU_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "mou_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    mou_id: str
    scope: MoUScope
    parties: list[MoUParty]
    valid_until: date
    expired_at: datetime
    province: ProvinceCode | None = Field(
        None, description="Province the MoU is carried out in (optional; none: national)."
    )
    regency: RegencyCode | None = Field(
        None, description="Regency/city within the province (optional)."
    )


class MoUTerminated(Event):
    """A signed MoU was ended early, with a reason; everything it covered ends."""

    TOPIC: ClassVar[str] = MOU_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "mou_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    mou_id: str
    scope: MoUScope
    parties: list[MoUParty]
    reason: str
    terminated_by: str
    terminated_at: datetime
    province: ProvinceCode | None = Field(
        None, description="Province the MoU is carried out in (optional; none: national)."
    )
    regency: RegencyCode | None = Field(
        None, description="Regency/city within the province (optional)."
    )
