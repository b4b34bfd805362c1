"""The registry's field rules: pure functions that return the value as stored or raise
``InvalidInput`` naming the field and the rule.

Where a rule is the platform's (NIB, province, KBLI format, e-mail, country, language) it is
``contracts.values``'s, only reported as a domain error; the rules that need the registry's
region tables or two fields at once (NIK structure, regency in province, KBLI in
manufacturing) live here alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lokal import parse_nik, parse_phone

from contracts import values
from contracts.registry import Directorate, SizeClass
from ikmkit.service import limits
from ikmkit.service.errors import InvalidInput, checked
from services.registry.domain import regions

if TYPE_CHECKING:
    from services.registry.domain.facts import MarketplaceStore


LEGAL_FORMS = ("PT", "CV", "UD", "firma", "koperasi", "perorangan", "PT_perorangan", "yayasan")
MARKETPLACES = (
    "tokopedia", "shopee", "bukalapak", "blibli", "blanja", "gojek", "lazada", "tiktok_shop",
    "other",
)  # fmt: skip
MANUFACTURING_DIVISIONS = range(10, 34)
"""KBLI section C (manufacturing): divisions 10-33."""

# Matched with fullmatch, in ASCII: \d and \w take every script's digits and letters, and $
# matches before a final newline (a second spelling of one id).
_POSTAL_CODE = re.compile(r"[0-9]{5}")
_CAMPAIGN = re.compile(r"#?[A-Za-z0-9_]{2,64}")


# --- identifiers and contacts -----------------------------------------------------------------


def check_nib(nib: str, field: str = "nib") -> str:
    return checked(values.Nib, nib, field)


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
    return checked(values.Email, email, field)


def check_language(language: str, field: str = "preferred_language") -> str:
    return checked(values.Language, language, field)


# --- regions and classification ------------------------------------------------------------


def check_province(province: str, field: str = "province") -> str:
    return checked(values.ProvinceCode, province, field)


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
    return check_manufacturing(checked(values.Kbli, kbli, field), field)


def check_manufacturing(kbli: str, field: str = "kbli") -> str:
    """A KBLI code (already of the platform's format) of section C."""
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


# --- text, numbers, lists -------------------------------------------------------------------


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
    if not _POSTAL_CODE.fullmatch(code):
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
    """Campaign tags such as ``#SemuanyaAdaDisini``, each in its ``campaign_spelling`` (with
    its ``#``), one per ``campaign_key`` (the first spelling kept: ``#semuanyaadadisini``
    is the same campaign), in first-seen order (a dict: linear in the number of tags)."""
    check_count(campaigns, field)
    tags: dict[str, str] = {}
    for tag in campaigns:
        spelling = values.campaign_spelling(tag)
        if not _CAMPAIGN.fullmatch(spelling):
            raise InvalidInput(
                f"campaign {tag!r} must be a hashtag of letters, digits or _",
                field=field,
                rule="campaign_format",
            )
        tags.setdefault(values.campaign_key(spelling), spelling)
    return list(tags.values())


def check_products(products: Sequence[str], field: str = "products") -> list[str]:
    check_count(products, field)
    return [check_text(p, field, max_length=120) for p in products]


def check_platform(platform: str, field: str = "marketplace_stores") -> str:
    """An e-commerce platform of ``MARKETPLACES``, written as stored (``Tiktok Shop``:
    ``tiktok_shop``)."""
    name = platform.strip().lower().replace(" ", "_")
    if name not in MARKETPLACES:
        raise InvalidInput(
            f"platform must be one of {', '.join(MARKETPLACES)}", field=field, rule="platform"
        )
    return name


def check_store(store: MarketplaceStore, field: str = "marketplace_stores") -> MarketplaceStore:
    platform = check_platform(store.platform, field)
    if len(store.shop_url) > limits.URL_MAX:
        raise InvalidInput(
            f"shop_url is longer than {limits.URL_MAX} characters", field=field, rule="max_length"
        )
    url = urlsplit(store.shop_url.strip())
    if url.scheme not in ("http", "https") or not url.netloc:
        raise InvalidInput("shop_url must be an http(s) URL", field=field, rule="url_format")
    shop_url = store.shop_url.strip()
    if platform == store.platform and shop_url == store.shop_url:
        return store  # as written (frozen): a copy would be the same
    return store.model_copy(update={"platform": platform, "shop_url": shop_url})


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
