"""The platform's shared value types, each defined and validated once.

Request models, domain models and events use these types; their JSON Schema (and so every
service's OpenAPI and the published event schemas) carries the rule (pattern, length, format,
enum), so a client sees it before it sends. A value that breaks a rule fails validation with a
``PydanticCustomError`` whose type is the rule's code (``nib_format``...); the services render
it as ``invalid.<rule>``, the same as a rule the domain checks.

Region codes are Kemendagri codes (those of the NIK): province 2 digits, regency/city 4 digits
beginning with its province's code. Whether a regency lies in a given province, and the deeper
NIK structure, are the registry's domain rules (they need both fields, or its region tables).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from contracts.email_syntax import plain_address

EMAIL_MAX = 254

Language = Literal["id", "en"]
"""The language people are written to in: Bahasa Indonesia or English."""

Role = Literal["ministry", "regional", "partner", "enterprise", "service"]
"""Who a caller is: a ministry officer, a regional (province) officer, a partner
organisation, an enterprise (IKM), or another system."""
ROLES: tuple[Role, ...] = get_args(Role)

# ISO 3166-1 alpha-2, officially assigned codes (249).
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR
    GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
    KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP
    MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG
    VI VN VU WF WS YE YT ZA ZM ZW""".split()  # noqa: SIM905 (a table reads better as text)
)


def _provinces() -> frozenset[str]:
    from lokal.provinces import PROVINCES

    return frozenset(PROVINCES)


_PROVINCES: frozenset[str] | None = None


def is_province(code: str) -> bool:
    global _PROVINCES  # noqa: PLW0603 (a cache of a constant table)
    if _PROVINCES is None:
        _PROVINCES = _provinces()
    return code in _PROVINCES


def _digits(rule: str, count: int, what: str) -> Callable[[str], str]:
    # ASCII digits, to the very end: Python's \d takes every script's digits and its $ a
    # final newline, so fullwidth digits or "123...\n" would be a second spelling of one code.
    pattern = re.compile(rf"[0-9]{{{count}}}")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise PydanticCustomError(rule, f"{what} must be exactly {count} digits")
        return value

    return check


def check_province(code: str) -> str:
    if not is_province(code):
        raise PydanticCustomError(
            "province_unknown",
            "province '{code}' is not one of the 38 Kemendagri province codes",
            {"code": code},
        )
    return code


def check_country(code: str) -> str:
    upper = code.strip().upper()
    if upper not in ISO_COUNTRIES:
        raise PydanticCustomError(
            "iso3166", "'{code}' is not an ISO 3166-1 alpha-2 country code", {"code": code}
        )
    return upper


def normalize_email(value: str) -> str:
    """The address as stored and sent: syntax checked (``email-validator``, no DNS lookup),
    domain in ASCII (IDNA), lower case. Rules: ``email_format``, or ``email_smtputf8`` for a
    non-ASCII local part, which needs SMTPUTF8 to deliver (the mail path does not promise it)."""
    text = value.strip()
    if len(text) > EMAIL_MAX:
        raise PydanticCustomError(
            "email_format", "an e-mail address has at most {max} characters", {"max": EMAIL_MAX}
        )
    plain = plain_address(text)  # the library's answer, its domain checked once per domain
    if plain is not None:
        return plain
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        local = text.rpartition("@")[0]
        if local and not local.isascii():
            raise PydanticCustomError(
                "email_smtputf8",
                "an e-mail address with non-ASCII characters before the @ cannot be delivered "
                "(it needs SMTPUTF8); use an ASCII address",
            ) from None
        raise PydanticCustomError(
            "email_format", "not a valid e-mail address: {reason}", {"reason": str(exc)}
        ) from None
    address = checked.ascii_email or checked.normalized
    return address.lower()


def campaign_spelling(tag: str) -> str:
    """A campaign tag as typed, in NFKC (the fullwidth letters, number sign and spaces an IME
    types are ASCII), without surrounding spaces, with its ``#``: the spelling the registry
    keeps and publishes. Only spaces are trimmed: a line break or tab is not a way to type a
    tag but a client's bug, refused as before (``tests/unit/test_digit_rules_ascii.py``)."""
    text = unicodedata.normalize("NFKC", tag).strip(" ")
    return text if text.startswith("#") else f"#{text}"


def campaign_key(tag: str) -> str:
    """The one key a campaign tag is compared, listed and counted by, whatever its spelling:
    ``campaign_spelling`` case-folded (hashtags are case-insensitive, and regional systems
    type ``#SemuanyaAdaDisini`` and ``#semuanyaadadisini`` for one campaign)."""
    return campaign_spelling(tag).casefold()


def documented(description: str | None = None, **schema: Any) -> Any:
    """JSON Schema keywords (``pattern``, ``minimum``...) shown to clients without validating
    here: for values whose rule is checked elsewhere (the domain, row by row), or that a
    response echoes after the request's check."""
    return Field(description=description, json_schema_extra=schema)


_NIB = documented(
    "NIB (Nomor Induk Berusaha) from OSS: 13 digits",
    pattern=r"^\d{13}$",
    minLength=13,
    maxLength=13,
    examples=["1234567890123"],
)
_NIK = documented(
    "NIK (Nomor Induk Kependudukan), 16 digits: Kemendagri district of issue (6), birth date"
    " DDMMYY (women: day + 40), serial (4, not 0000); personal data",
    pattern=r"^\d{16}$",
    minLength=16,
    maxLength=16,
)
_PROVINCE = documented(
    "Kemendagri province code, 2 digits (one of the 38 provinces)",
    pattern=r"^\d{2}$",
    minLength=2,
    maxLength=2,
    examples=["33"],
)
_REGENCY = documented(
    "Kemendagri regency/city code, 4 digits starting with its province's code (a regency"
    " given with a province must lie in it)",
    pattern=r"^\d{4}$",
    minLength=4,
    maxLength=4,
    examples=["3374"],
)
_KBLI = documented(
    "KBLI 2020 business classification, 5 digits",
    pattern=r"^\d{5}$",
    minLength=5,
    maxLength=5,
    examples=["10792"],
)
_COUNTRY = documented(
    "ISO 3166-1 alpha-2 country code",
    pattern=r"^[A-Za-z]{2}$",
    minLength=2,
    maxLength=2,
    examples=["ID"],
)
_EMAIL = documented(
    "An e-mail address (normalized: ASCII before the @, domain lower case); personal data",
    format="email",
    maxLength=EMAIL_MAX,
)

Nib = Annotated[str, AfterValidator(_digits("nib_format", 13, "NIB")), _NIB]
Nik = Annotated[str, AfterValidator(_digits("nik_length", 16, "NIK")), _NIK]
ProvinceCode = Annotated[str, AfterValidator(check_province), _PROVINCE]
RegencyCode = Annotated[
    str, AfterValidator(_digits("regency_unknown", 4, "a regency/city code")), _REGENCY
]
Kbli = Annotated[str, AfterValidator(_digits("kbli_format", 5, "KBLI")), _KBLI]
CountryCode = Annotated[str, AfterValidator(check_country), _COUNTRY]
Email = Annotated[str, Field(max_length=EMAIL_MAX), AfterValidator(normalize_email), _EMAIL]

# The same values as documented, unchecked: stored and echoed values (checked on the way in),
# and bulk rows, whose rules the domain applies row by row.
NibText = Annotated[str, _NIB]
NikText = Annotated[str, _NIK]
ProvinceText = Annotated[str, _PROVINCE]
RegencyText = Annotated[str, _REGENCY]
KbliText = Annotated[str, _KBLI]
CountryText = Annotated[str, _COUNTRY]
EmailText = Annotated[str, _EMAIL]

RULES = frozenset(
    {
        "nib_format",
        "nik_length",
        "province_unknown",
        "regency_unknown",
        "kbli_format",
        "iso3166",
        "email_format",
        "email_smtputf8",
    }
)
"""The rule codes these types raise (rendered ``invalid.<rule>`` like domain rules)."""
