"""The common e-mail address checked without re-checking its domain for every address.

``email-validator`` checks a domain name character by character (UTS-46, IDNA); a bulk import
of 100,000 owners has a few dozen domains. The part of the check that depends on the domain
alone is done once per domain (a bounded LRU), the rest per address, so the answer is the
library's own answer for every input (``tests/unit/test_email_syntax.py`` proves it against
``validate_email`` on a table of tricky addresses and on generated ones):

- only a *plain* address takes this path: ASCII, one ``@``, a local part of the library's
  unquoted dot-atom characters (which it accepts as they are) and a domain of hostname
  characters;
- the domain is checked by the library itself, on ``a@<domain>``, and only its success is
  cached; anything else (a refused domain, an address near the length limits, quotes,
  non-ASCII, display names) returns ``None``: the caller asks the library, whose error then
  says exactly what it says today.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_PLAIN = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([a-zA-Z0-9.\-]+)\Z")
_MAX = 254  # RFC 5321 4.5.3.1.3 as the library counts it (UTF-8 octets of the whole address)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, str] | None:
    """The domain as the library normalizes it (ASCII form, display form), or ``None`` if the
    library refuses ``a@<domain>``."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return checked.ascii_domain, checked.domain


def plain_address(text: str) -> str | None:
    """The address as ``validate_email`` would give it (``ascii_email``), in lower case, when
    ``text`` is a plain address the library accepts; ``None`` if the library must decide."""
    if not text.isascii():
        return None
    match = _PLAIN.match(text)
    if match is None:
        return None
    local, given = match.groups()
    domain = _domain(given)
    if domain is None:
        return None
    ascii_domain, display = domain
    ascii_email = f"{local}@{ascii_domain}"
    normalized = f"{local}@{display}"
    if len(text) > _MAX or len(ascii_email) > _MAX or len(normalized.encode()) > _MAX:
        return None
    return ascii_email.lower()
