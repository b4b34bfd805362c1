"""What clients send the registry: request bodies and list filters, every value bounded.

Shared value types (NIB, NIK, region codes, KBLI, e-mail, country, language) carry the
platform's rule into the OpenAPI; the domain adds the rules that need its tables or more than
one field (``domain.rules``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field

from contracts.registry import EnterpriseStatus, MoUParty, MoUScope, PartnerType, SizeClass
from contracts.values import (
    EMAIL_MAX,
    CountryCode,
    CountryText,
    Email,
    EmailText,
    Kbli,
    KbliText,
    Language,
    Nib,
    NibText,
    Nik,
    NikText,
    ProvinceCode,
    ProvinceText,
    RegencyCode,
    RegencyText,
)
from ikmkit.service.command import Command
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.limits import (
    CODE_MAX,
    COUNT_MAX,
    MAX_BULK,
    MAX_ITEMS,
    Code,
    Codes,
    Count,
    Cursor,
    Labels,
    Name,
    NameRow,
    Names,
    NamesRow,
    Rupiah,
    Text,
    TextRow,
    Url,
    Version,
)
from ikmkit.service.listing import DEFAULT_PAGE, MAX_PAGE
from services.registry.domain import link_rules
from services.registry.domain.facts import EnterpriseFacts
from services.registry.domain.mou import MoUStatus
from services.registry.domain.partner import Partner


def enterprise_rules_broken(fields: dict[str, Any]) -> list[InvalidInput]:
    """The domain's rules on the fields a request model accepted (``RuledBody``): its value
    types applied the shared ones."""
    found = Violations()
    EnterpriseFacts.check_fields(fields, found, typed=True)
    return found.found


class StoreInput(Command):
    platform: Code = Field(description="tokopedia, shopee, bukalapak, blibli, blanja, gojek, ...")
    shop_url: Url


Stores = Annotated[list[StoreInput], MAX_ITEMS]
# A value of an import row: documented with its rule, which the domain checks for that row
# alone (a bad row is rejected, the others imported); only its size is checked at the door.
NibRow = Annotated[NibText, Field(max_length=CODE_MAX)]
NikRow = Annotated[NikText, Field(max_length=CODE_MAX)]
ProvinceRow = Annotated[ProvinceText, Field(max_length=CODE_MAX)]
RegencyRow = Annotated[RegencyText, Field(max_length=CODE_MAX)]
KbliRow = Annotated[KbliText, Field(max_length=CODE_MAX)]
CountryRow = Annotated[CountryText, Field(max_length=CODE_MAX)]
MemberCount = Annotated[int, Field(ge=0, le=COUNT_MAX)]


class RegisterEnterprise(Command):
    """Body of ``POST /enterprises``."""

    nib: Nib
    name: Name
    legal_form: Code = Field(
        "perorangan", description="PT, CV, UD, firma, koperasi, perorangan, ..."
    )
    owner_name: Name
    owner_nik: Nik | None = None
    owner_phone: Code | None = None
    owner_email: Email | None = None
    preferred_language: Language = "id"
    street: Text = ""
    postal_code: Code | None = None
    province: ProvinceCode
    regency: RegencyCode
    kbli: Kbli = Field(description="KBLI 2020, 5 digits, manufacturing 10xxx-33xxx")
    workforce: Count
    investment_rupiah: Rupiah = Field(description="Investment excluding land and buildings, rupiah")
    products: Names = []
    campaigns: Codes = Field([], description="e.g. #SemuanyaAdaDisini")
    marketplace_stores: Stores = []

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        return enterprise_rules_broken(fields)


class EnterpriseRow(Command):
    """One row of a bulk import: the fields of ``POST /enterprises``, only their sizes checked
    at the door; whether the row is a valid registration is decided for that row alone."""

    nib: NibRow | None = None
    name: NameRow | None = None
    legal_form: Code | None = None
    owner_name: NameRow | None = None
    owner_nik: NikRow | None = None
    owner_phone: Code | None = None
    owner_email: Annotated[EmailText, Field(max_length=EMAIL_MAX)] | None = None
    preferred_language: Code | None = None
    street: TextRow | None = None
    postal_code: Code | None = None
    province: ProvinceRow | None = None
    regency: RegencyRow | None = None
    kbli: KbliRow | None = None
    # A number or the text a file had there: not a number is that row's error (int_parsing).
    workforce: Count | Code | None = None
    investment_rupiah: Rupiah | Code | None = None
    products: NamesRow | None = None
    campaigns: Codes | None = None
    marketplace_stores: Stores | None = None


class ImportEnterprises(Command):
    """Body of ``POST /enterprises/import``: each row is checked on its own."""

    rows: Annotated[list[EnterpriseRow], MAX_BULK] = Field(min_length=1)


class UpdateEnterprise(Command):
    """Body of ``PATCH /enterprises/{nib}``: the fields to change and the version read."""

    version: Version = Field(description="The version the change is based on (optimistic locking)")
    name: Name | None = None
    legal_form: Code | None = None
    owner_name: Name | None = None
    owner_nik: Nik | None = None
    owner_phone: Code | None = None
    owner_email: Email | None = None
    preferred_language: Language | None = None
    street: Text | None = None
    postal_code: Code | None = None
    province: ProvinceCode | None = None
    regency: RegencyCode | None = None
    kbli: Kbli | None = None
    # Numbers as POST /enterprises reads them ("25" is 25): a text here reached the domain's
    # rules, which compare numbers (a 500).
    workforce: Count | None = None
    investment_rupiah: Rupiah | None = None
    products: Names | None = None
    campaigns: Codes | None = None
    marketplace_stores: Stores | None = None

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        return enterprise_rules_broken(fields)


class StatusChange(Command):
    reason: Text


class EnterpriseQuery(BaseModel):
    province: ProvinceCode | None = None
    regency: RegencyCode | None = None
    kbli: Kbli | None = None
    status: EnterpriseStatus | None = None
    size_class: SizeClass | None = None
    marketplace_platform: Code | None = Field(
        None, description="e-Smart IKM: enterprises with a store on this platform (tokopedia...)"
    )
    campaign: Code | None = Field(
        None, description="Enterprises taking part in this campaign (with or without its #)"
    )
    cursor: Cursor | None = None
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)


class RegisterPartner(Command):
    partner_id: Code | None = Field(None, description="Slug such as pii-bkti; generated if absent")
    name: Name
    partner_type: PartnerType
    country: CountryCode = "ID"
    province: ProvinceCode | None = None
    regency: RegencyCode | None = None
    contact_email: Email | None = None
    preferred_language: Language = "id"
    memberships: Labels = Field([], description="e.g. colombo_plan")
    member_count: MemberCount | None = Field(
        None, description="Members of an association (e.g. PII BKTI: ~290 universities)"
    )

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        found = Violations()
        Partner.check_fields(fields, found)
        return found.found


class PartnerRow(Command):
    """One row of a partner import: the fields of ``POST /partners``, only their sizes checked
    at the door; whether the row is a valid registration is decided for that row alone."""

    partner_id: Code | None = None
    name: NameRow | None = None
    partner_type: Code | None = None
    country: CountryRow | None = None
    province: ProvinceRow | None = None
    regency: RegencyRow | None = None
    contact_email: Annotated[EmailText, Field(max_length=EMAIL_MAX)] | None = None
    preferred_language: Code | None = None
    memberships: Codes | None = None
    # A number or the text a file had there: not a number is that row's error (int_parsing).
    member_count: Count | Code | None = None


class ImportPartners(Command):
    """Body of ``POST /partners/import``: each row is checked on its own."""

    rows: Annotated[list[PartnerRow], MAX_BULK] = Field(min_length=1)


class PartnerQuery(BaseModel):
    partner_type: PartnerType | None = None
    country: CountryCode | None = None
    province: ProvinceCode | None = None
    cursor: Cursor | None = None
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)


class PartyInput(MoUParty, Command):
    partner_id: Code


class PartyRow(Command):
    partner_id: Code | None = None
    role: Code | None = None


class DraftMoU(Command):
    title: Name
    scope: MoUScope
    parties: Annotated[list[PartyInput], MAX_ITEMS] = Field(
        description="Partner ids; the ministry is 'ministry'"
    )
    valid_from: date
    valid_until: date
    document_ref: Text | None = None
    province: ProvinceCode | None = Field(None, description="Where it is carried out (optional)")
    regency: RegencyCode | None = Field(None, description="Regency/city in that province")

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        found = Violations()
        parties = fields.get("parties")
        terms = (fields.get("valid_from"), fields.get("valid_until"), fields.get("title"))
        known = None if parties is None else [MoUParty.model_validate(p) for p in parties]
        found.check(link_rules.check_mou_terms, known, *terms)
        found.check(link_rules.check_mou_region, fields.get("province"), fields.get("regency"))
        return found.found


class MoURow(Command):
    """One row of an MoU import: a draft, signed at once when ``signed_on`` is given. Without
    ``mou_id`` the id is derived from the row's terms, so a file sent again is ``existing``."""

    mou_id: Code | None = None
    title: NameRow | None = None
    scope: Code | None = None
    parties: Annotated[list[PartyRow], MAX_ITEMS] | None = None
    valid_from: Code | None = None
    valid_until: Code | None = None
    signed_on: Code | None = None
    document_ref: TextRow | None = None
    province: ProvinceRow | None = None
    regency: RegencyRow | None = None


class ImportMoUs(Command):
    """Body of ``POST /mous/import``: each row is checked on its own."""

    rows: Annotated[list[MoURow], MAX_BULK] = Field(min_length=1)


class ImportedMoU(DraftMoU):
    """An import row as a command: a draft, its id if the file gives one, signed if
    ``signed_on`` is given."""

    mou_id: Code | None = None
    signed_on: date | None = None


class SignMoU(Command):
    signed_on: date | None = Field(None, description="Defaults to today")
    document_ref: Text | None = Field(None, description="Required unless the draft has one")


class TerminateMoU(Command):
    reason: Text


class MoUQuery(BaseModel):
    party: Code | None = None
    province: ProvinceCode | None = None
    scope: MoUScope | None = None
    status: MoUStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
