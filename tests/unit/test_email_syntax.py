"""The e-mail rule checks a domain once per domain, and answers exactly as ``email-validator``
answers for every address: the same address accepted the same way, the same rule and message
for a refused one."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from contracts import email_syntax
from contracts.values import EMAIL_MAX, normalize_email


def library_rule(value: str) -> tuple[str, str]:
    """The e-mail rule as it was before the per-domain cache: the library on every address."""
    text = value.strip()
    if len(text) > EMAIL_MAX:
        return ("email_format", f"an e-mail address has at most {EMAIL_MAX} characters")
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        local = text.rpartition("@")[0]
        if local and not local.isascii():
            return ("email_smtputf8", "")
        return ("email_format", f"not a valid e-mail address: {exc}")
    return ("ok", (checked.ascii_email or checked.normalized).lower())


def rule(value: str) -> tuple[str, str]:
    try:
        return ("ok", normalize_email(value))
    except PydanticCustomError as exc:
        return (exc.type, "" if exc.type == "email_smtputf8" else exc.message())


LABEL63 = "a" * 63
CJK = "xn--fiqaaaaaaaaaaaaaaaaaaa.cn"  # 29 characters in ASCII, 63 bytes as UTF-8 (中 x 20)
TRICKY = [
    "budi@example.id", "Budi@Example.ID", " sri@example.id ", "POSTMASTER@example.id",
    "user+tag@sub.example.co.id", "o'brien@example.id", "a!#$%&'*+/=?^_`{|}~-@example.id",
    "a.b.c@example.id", "a..b@example.id", ".a@example.id", "a.@example.id",
    "a@b", "a@b.c", "a@b.c1", "a@b.123", "a@1.2.3.4", "a@[1.2.3.4]", "a@[IPv6:::1]",
    "a@-example.id", "a@example-.id", "a@exa--mple.id", "ab--c@ex.id", "a@ab--cd.id",
    "a@xn--bcher-kva.de", "a@XN--BCHER-KVA.de", "a@xn--abc.de", "a@xn--.de", "a@xn--a.de",
    "a@example..id", "a@.example.id", "a@example.id.", "a@@example.id", "a@b@example.id",
    "a@localhost", "a@example.local", "a@x.localhost", "a@home.arpa", "a@example.test",
    "a@example.invalid", "a@x.onion", "a@example.com", "a@example", "a@test",
    f"a@{LABEL63}.id", f"a@{LABEL63}a.id", "a@" + ".".join([LABEL63] * 4),
    "a@" + ".".join([LABEL63] * 3) + "." + "b" * 61, "a" * 64 + "@example.id",
    "a" * 65 + "@example.id", "a" * 240 + "@example.id", "a" * 243 + "@example.id",
    "a" * 244 + "@example.id", "a" * 245 + "@example.id", "a" * 250 + "@b.id",
    "", "@", "@example.id", "a@", "no-at-sign", "a b@example.id", '"a b"@example.id',
    '"ab"@example.id', "<a@example.id>", "Budi <a@example.id>", "a@example.id>",
    "a@exa mple.id", "a@exa_mple.id", "pémilik@contoh.id", "sri@bücher.de", "a@BÜCHER.de",
    "a@\uff45xample.id", "a\uff20example.id", "a@example。id", "a@exam\u00adple.id", "a\u0301@x.id",
    "a" * 200 + "@" + CJK, "a" * 190 + "@" + CJK, "a" * 224 + "@" + CJK,
    "a@x.id\n", "a\t@x.id", "a@x.i-d", "a@x.-id", "a@x.id-", "a@1x.id", "a@x.i",
]  # fmt: skip


@pytest.mark.parametrize("address", TRICKY)
def test_tricky_addresses_get_the_libraries_answer(address: str) -> None:
    assert rule(address) == library_rule(address)


ATOM = "aZ0._-+!'\"@ é.\u0301[]<>"
HOST = "aZ09.-_@é[]。 "


@given(
    local=st.text(ATOM, max_size=70),
    domain=st.one_of(
        st.text(HOST, max_size=70),
        st.sampled_from(["example.id", "xn--bcher-kva.de", "b", "localhost", "x.test"]),
        st.lists(st.text("az0-", min_size=1, max_size=64), min_size=1, max_size=5).map(".".join),
    ),
    pad=st.integers(0, 260),
)
@settings(max_examples=600, deadline=None)
def test_generated_addresses_get_the_libraries_answer(local: str, domain: str, pad: int) -> None:
    for address in (f"{local}@{domain}", f"{'a' * pad}{local}@{domain}", local + domain):
        assert rule(address) == library_rule(address)


def test_a_domain_is_checked_once() -> None:
    email_syntax._domain.cache_clear()
    for i in range(100):
        normalize_email(f"owner{i}@once.example.id")
    info = email_syntax._domain.cache_info()
    assert (info.misses, info.hits) == (1, 99)
