"""One masking rule per kind of personal data (UU PDP, Law 27/2022), for every surface.

API responses, log lines, audit reports and webhook bodies all mask with these functions, so
the same NIK, phone number or e-mail address reads the same wherever it appears
(``3201********0001``, ``0812****7890``, ``b***@example.id``). The partial forms are
``lokal``'s (``lokal.samaran.partial_mask``): enough to tell records apart, not enough to
identify anyone. A value too short to keep anything of is withheld whole (:data:`REDACTED`):
a partial mask of ``"12"`` would reveal it all.

An integrator can mask its own copy of a value with the same rule to match it against what a
webhook or an audit report shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal, get_args

from lokal import field_type, parse_phone, partial_mask

PersonalKind = Literal["nik", "npwp", "phone", "email", "bank_account", "name"]
PERSONAL_KINDS: tuple[PersonalKind, ...] = get_args(PersonalKind)

REDACTED = "***"
"""What is left of personal data whose kind is unknown, or too short to mask partially."""

_NON_DIGIT = re.compile(r"\D")


def _digits(value: str) -> str:
    return _NON_DIGIT.sub("", value)


def mask_nik(value: str) -> str:
    """``3201011508950001`` -> ``3201********0001`` (region kept, birth date and serial hidden)."""
    if not value:
        return value
    return partial_mask("NIK", value) if len(_digits(value)) == 16 else REDACTED


def mask_npwp(value: str) -> str:
    """A 15- or 16-digit NPWP, dotted or not -> its last four digits: ``***********1000``."""
    if not value:
        return value
    return partial_mask("NPWP", value) if len(_digits(value)) in (15, 16) else REDACTED


def mask_phone(value: str) -> str:
    """Any writing of one number -> its national form's ends: ``0812****7890``."""
    if not value:
        return value
    e164 = parse_phone(value).e164
    national = e164.replace("+62", "0", 1) if e164 else _digits(value)
    return partial_mask("PHONE", value) if len(national) >= 10 else REDACTED


def mask_email(value: str) -> str:
    """``budi@example.id`` -> ``b***@example.id`` (the domain says which provider, not who)."""
    if not value:
        return value
    user, at, domain = value.partition("@")
    return partial_mask("EMAIL", value) if user and at and domain else REDACTED


def mask_bank_account(value: str) -> str:
    """An account number -> its last four digits: ``******7890``."""
    if not value:
        return value
    return partial_mask("BANK_ACCOUNT", value) if len(_digits(value)) >= 8 else REDACTED


def mask_name(value: str) -> str:
    """``Siti Aminah`` -> ``S*** A***``: each word's initial."""
    words = value.split()
    return partial_mask("NAME", " ".join(words)) if words else value


MASKS: dict[PersonalKind, Callable[[str], str]] = {
    "nik": mask_nik,
    "npwp": mask_npwp,
    "phone": mask_phone,
    "email": mask_email,
    "bank_account": mask_bank_account,
    "name": mask_name,
}


def mask(kind: PersonalKind | None, value: str) -> str:
    """``value`` masked by its kind's rule; withheld whole when the kind is unknown."""
    if not value:
        return value
    return MASKS[kind](value) if kind is not None else REDACTED


# A field's name says what it holds: ``owner_nik``, ``participant_email``, ``mentor_name``.
_FIELD_SUFFIXES: tuple[tuple[str, PersonalKind], ...] = (
    ("nik", "nik"),
    ("npwp", "npwp"),
    ("phone", "phone"),
    ("email", "email"),
    ("bank_account", "bank_account"),
    ("account_number", "bank_account"),
    ("rekening", "bank_account"),
    ("name", "name"),
    ("nama", "name"),
)
_LOKAL_KINDS: dict[str, PersonalKind] = {
    "NIK": "nik",
    "NPWP": "npwp",
    "PHONE": "phone",
    "EMAIL": "email",
    "BANK_ACCOUNT": "bank_account",
    "NAME": "name",
}


def field_kind(field: str) -> PersonalKind | None:
    """The kind of personal data a field named ``field`` holds, if its name tells."""
    key = re.sub(r"[^a-z0-9]+", "_", field.lower()).strip("_")
    for suffix, kind in _FIELD_SUFFIXES:
        if key == suffix or key.endswith(f"_{suffix}"):
            return kind
    return _LOKAL_KINDS.get(field_type(key) or "")


# --- free text (log lines) ------------------------------------------------------------------
# Found by shape (and, for account numbers, by a word before them); masked by the rules above.

_EMAIL = re.compile(r"(?<![\w.+%-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[ -]?8\d{1,2}(?:[ -]?\d{2,5}){2,3}(?!\w)")
_ACCOUNT_NUMBER = re.compile(r"(?<![\w.-])\d(?:[ .-]?\d){7,17}(?![\w]|[.-]\d)")
# An account number is only told from other numbers by a word just before it.
_BANK_WORD = re.compile(
    r"(?i)(?<![a-z])(?:rekening|norek|rek|account|acct|acc|a/c|bank|va|bca|bri|bni|mandiri|bsi"
    r"|cimb|niaga|permata|danamon|btn)(?![a-z])[^\d\n]{0,20}$"
)
# Every number below has at least 8 digits: a cheap test skips the rest for most lines.
_EIGHT_DIGITS = re.compile(r"\d(?:[ .-]?\d){7}")
# 15 or 16 digits, bare or grouped by dots, dashes or spaces: a NIK or an NPWP.
_ID_NUMBER = re.compile(r"(?<![\w.+-])\d(?:[ .-]?\d){14,15}(?![\w]|[.-]\d)")


def _id_number(match: re.Match[str]) -> str:
    value = match.group(0)
    if " " in value and min(len(g) for g in value.split()) < 3:
        return value  # a list of small numbers, not one identifier
    digits = _digits(value)
    # A resident's NPWP is their NIK (PMK 112/2022); an entity's 16-digit NPWP starts with 0.
    return mask_nik(value) if len(digits) == 16 and digits[0] != "0" else mask_npwp(value)


def _phone(match: re.Match[str]) -> str:
    value = match.group(0)
    return mask_phone(value) if parse_phone(value).valid else value


def _bank_account(match: re.Match[str]) -> str:
    before = match.string[max(0, match.start() - 40) : match.start()]
    return mask_bank_account(match.group(0)) if _BANK_WORD.search(before) else match.group(0)


def scrub_text(text: str) -> str:
    """``text`` with every e-mail address, phone number, account number, NIK and NPWP masked.

    Names cannot be told from other words by their shape: code never writes them into text.
    """
    if "@" in text:
        text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    if not _EIGHT_DIGITS.search(text):
        return text  # the common log line: nothing below can match
    text = _PHONE.sub(_phone, text)
    text = _ACCOUNT_NUMBER.sub(_bank_account, text)
    return _ID_NUMBER.sub(_id_number, text)
