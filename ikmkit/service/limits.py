"""Input limits every service's request models share: one place to read and change them.

Every free-text field, list and integer a client sends has a maximum here, so no single
request can carry a value that a store, an event or a consumer cannot hold (a 1 MB street
that no Kafka message fits, 40,000 products, a year past 2^63). A value over its limit is a
422 naming the field and the rule (pydantic's ``string_too_long``, ``too_long``,
``less_than_equal``...). ``docs/faults/input.md`` lists them for clients and operators.

Value types with a rule of their own (NIB, NIK, region codes, KBLI, country, e-mail) are
``contracts.values``.
"""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import MaxLen
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from ikmkit.service.errors import InvalidInput

# --- the numbers ----------------------------------------------------------------------------

CODE_MAX = 64
"""Identifiers and codes: NIB, KBLI, ids, slugs, country and province codes, cursors' keys."""
KEY_MAX = 256
"""Composite keys and recipients (e.g. a notification id: event id, recipient, channel)."""
NAME_MAX = 200
"""Names and titles: enterprise, person, partner, course, product, supplier."""
TEXT_MAX = 2000
"""Free text: streets, reasons, descriptions, positions, venues."""
URL_MAX = 2048
"""URLs (shop and webhook URLs)."""
SECRET_MAX = 256
"""Shared secrets (webhook HMAC keys)."""
CURSOR_MAX = 2048
"""Opaque paging cursors."""

ITEMS_MAX = 200
"""Lists of things a person types: products, campaign tags, venues, memberships, stores."""
LINES_MAX = 500
"""Invoice lines of one subsidy application."""
SESSIONS_MAX = 100
"""Sessions of one course (the KSST program of 13 days had fewer than 30)."""
IDS_MAX = 1000
"""Lists of ids in one command (e.g. dead notifications to redrive)."""
BULK_MAX = 5000
"""Rows of one bulk command (participants enrolled, attendance marks of one session)."""

INT64_MAX = 2**63 - 1
"""Every integer a store indexes must fit 64 bits (SQLite INTEGER, BSON int64)."""
RUPIAH_MAX = 2**53 - 1
"""About Rp9 quadrillion: above Indonesia's whole state budget, and the largest integer every
JSON reader holds exactly (I-JSON; events are RFC 8785 JSON, which refuses larger ones)."""
COUNT_MAX = 10_000_000
"""Head counts and capacities (workforce, seats)."""
YEAR_MIN, YEAR_MAX = 2000, 2100
"""Fiscal years the ministry's programs can belong to."""
VERSION_MAX = 2**31
"""Optimistic-locking versions."""

# --- the types ------------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
_CONTROL_TEXT = "text must not hold control characters (only line breaks and tabs)"
_BIDI_TEXT = "text must not hold bidirectional overrides or isolates (U+202A-U+202E, U+2066-U+2069)"
_ZERO_WIDTH_TEXT = "a name must not hold zero-width characters (U+200B-U+200D, U+2060, U+FEFF)"
_TEXT_RULES = ((_CONTROL, "control_character", _CONTROL_TEXT), (_BIDI, "bidi_control", _BIDI_TEXT))
_NAME_RULES = (*_TEXT_RULES, (_ZERO_WIDTH, "zero_width_character", _ZERO_WIDTH_TEXT))
# Why each: a NUL (which SMTP refuses in a message), a terminal's escape sequence, DEL or a C1
# control is no one's name or text, and would be stored, sent on in events and e-mails, and
# shown to officers. A bidirectional override reorders what follows it on screen, and a
# zero-width character is not seen at all: "CV Maju\u202e..." or "PT\u200bSentosa" displays
# as another enterprise's or partner's name in officers' lists, exports and e-mails. Zero-width
# joiners are refused in names only: free text may hold an emoji sequence.


def text_problem(text: str, *, name: bool = False) -> tuple[str, str] | None:
    """The rule ``text`` breaks (its code and message), if any: the one definition of the
    characters names (``name``) and free text may not hold."""
    for pattern, rule, message in _NAME_RULES if name else _TEXT_RULES:
        if pattern.search(text):
            return rule, message
    return None


def _clean_text(text: str) -> str:
    if problem := text_problem(text):
        raise PydanticCustomError(*problem)
    return text


def _clean_name(text: str) -> str:
    if problem := text_problem(text, name=True):
        raise PydanticCustomError(*problem)
    return text


NoControl = AfterValidator(_clean_text)
CleanName = AfterValidator(_clean_name)
CHARACTER_RULES = {rule: message for _, rule, message in _NAME_RULES}
RULES = frozenset(CHARACTER_RULES)
"""The rule codes these types raise (rendered ``invalid.<rule>``, as the domains' own check
``check_name`` renders it)."""


def check_name(text: str, field: str) -> str:
    """``Name``'s character rules as a domain rule naming ``field`` (a bulk row's field)."""
    if problem := text_problem(text, name=True):
        raise InvalidInput(problem[1], field=field, rule=problem[0])
    return text


Code = Annotated[str, Field(max_length=CODE_MAX)]
Key = Annotated[str, Field(max_length=KEY_MAX)]
Name = Annotated[str, Field(max_length=NAME_MAX), CleanName]
Text = Annotated[str, Field(max_length=TEXT_MAX), NoControl]
Url = Annotated[str, Field(max_length=URL_MAX)]
Secret = Annotated[str, Field(max_length=SECRET_MAX)]
Cursor = Annotated[str, Field(max_length=CURSOR_MAX)]

MAX_ITEMS = MaxLen(ITEMS_MAX)
"""``Annotated[list[X], MAX_ITEMS]``: a list a person fills in (products, tags, venues...)."""
MAX_LINES = MaxLen(LINES_MAX)
MAX_SESSIONS = MaxLen(SESSIONS_MAX)
MAX_IDS = MaxLen(IDS_MAX)
MAX_BULK = MaxLen(BULK_MAX)
Names = Annotated[list[Name], MAX_ITEMS]
Label = Annotated[str, Field(max_length=CODE_MAX), CleanName]
"""A short word a person types to tag a record (a partner's memberships): a ``Code``'s size,
a ``Name``'s characters."""
Labels = Annotated[list[Label], MAX_ITEMS]
NameRow = Annotated[str, Field(max_length=NAME_MAX)]
"""``Name`` with its size alone checked at the door: a bulk row's field, whose other rules
(its characters) reject that row only, when the row is checked as a request."""
TextRow = Annotated[str, Field(max_length=TEXT_MAX)]
NamesRow = Annotated[list[NameRow], MAX_ITEMS]
Codes = Annotated[list[Code], MAX_ITEMS]

Rupiah = Annotated[int, Field(ge=-RUPIAH_MAX, le=RUPIAH_MAX)]
"""Money: bounded both ways so the domain's own rules (e.g. non-negative) still name theirs."""
StrictRupiah = Annotated[int, Field(strict=True, ge=-RUPIAH_MAX, le=RUPIAH_MAX)]
"""``Rupiah`` that only a JSON integer gives: ``1000000.0``, ``"1000000"`` and ``true`` are 422
(``int_type``), not read as an amount (``true`` was Rp 1)."""
Count = Annotated[int, Field(ge=-COUNT_MAX, le=COUNT_MAX)]
Percent = Annotated[int, Field(ge=-1000, le=1000)]
FiscalYear = Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)]
Version = Annotated[int, Field(ge=0, le=VERSION_MAX)]
